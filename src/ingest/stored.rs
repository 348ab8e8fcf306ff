//! What a store already holds, for `cplogs backfill`: the executions that have live
//! events (EventBridge's ids, which backfill cannot reproduce, so those executions
//! are never backfilled) and the ids of events an earlier backfill wrote (so a
//! resumed or repeated backfill writes only the events still missing).

use std::collections::HashSet;
use std::io::Read;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use super::backfill::ID_PREFIX;

/// The fields of a stored record the check reads.
#[derive(Deserialize)]
struct Ids<'a> {
    #[serde(rename = "pipelineArn", borrow)]
    pipeline_arn: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "executionId", borrow)]
    execution_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "eventId", borrow)]
    event_id: Option<std::borrow::Cow<'a, str>>,
}

/// The executions and backfilled events found in a store.
#[derive(Debug, Default)]
pub struct Stored {
    live: HashSet<(String, String)>,
    backfilled: HashSet<u64>,
    /// Records read.
    pub records: u64,
    /// Lines that were not records (skipped, as the readers skip them).
    pub skipped: u64,
}

fn id_hash(id: &str) -> u64 {
    crate::hash::fnv1a(0x6261_636b_6669_6c6c, id)
}

impl Stored {
    /// Reads one stored file (gzip or plain JSON lines); `name` names it in errors.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let mut text = Vec::new();
        let lines: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
            MultiGzDecoder::new(bytes)
                .read_to_end(&mut text)
                .map_err(|e| format!("{name}: not readable gzip: {e}"))?;
            &text
        } else {
            bytes
        };
        for line in lines.split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Ids>(line) {
                Ok(ids) => {
                    self.records += 1;
                    self.add(
                        ids.pipeline_arn.as_deref(),
                        ids.execution_id.as_deref(),
                        ids.event_id.as_deref(),
                    );
                }
                Err(_) => self.skipped += 1,
            }
        }
        Ok(())
    }

    /// Notes one stored record.
    pub fn add(&mut self, arn: Option<&str>, execution: Option<&str>, event_id: Option<&str>) {
        match event_id {
            Some(id) if id.starts_with(ID_PREFIX) => {
                self.backfilled.insert(id_hash(id));
            }
            _ => {
                if let (Some(arn), Some(exec)) = (arn, execution) {
                    self.live.insert((arn.to_owned(), exec.to_owned()));
                }
            }
        }
    }

    /// Whether the execution has live events.
    pub fn has_live(&self, arn: &str, execution: &str) -> bool {
        // Borrowed lookup without allocating would need a custom key type; the
        // allocation is per execution, not per event.
        self.live.contains(&(arn.to_owned(), execution.to_owned()))
    }

    /// Whether an event with this (synthesized) id is stored.
    pub fn has_event(&self, id: &str) -> bool {
        self.backfilled.contains(&id_hash(id))
    }

    /// Executions with live events.
    pub fn live_executions(&self) -> usize {
        self.live.len()
    }

    /// Backfilled events.
    pub fn backfilled_events(&self) -> usize {
        self.backfilled.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_executions_and_backfilled_ids_are_told_apart() {
        let mut s = Stored::default();
        let lines = concat!(
            r#"{"pipelineArn":"arn:p","executionId":"e1","eventId":"0f1e-live"}"#,
            "\n",
            r#"{"pipelineArn":"arn:p","executionId":"e2","eventId":"backfill-abc"}"#,
            "\n\nnot json\n",
            r#"{"pipelineArn":"arn:p","executionId":"e3"}"#,
        );
        s.add_file("f", lines.as_bytes()).unwrap();
        assert!(s.has_live("arn:p", "e1"));
        assert!(s.has_live("arn:p", "e3"));
        assert!(!s.has_live("arn:p", "e2"));
        assert!(s.has_event("backfill-abc"));
        assert!(!s.has_event("backfill-abd"));
        assert_eq!((s.records, s.skipped), (3, 1));
        let err = s.add_file("broken.gz", &[0x1f, 0x8b, 0, 1]).unwrap_err();
        assert!(err.starts_with("broken.gz: "), "{err}");
    }
}
