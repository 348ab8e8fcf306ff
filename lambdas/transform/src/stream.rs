//! The transform of a request as it arrives: records are rendered on the worker
//! threads while the rest of the body is still being read, so the reading (a few
//! milliseconds for a 6 MB batch) and the work overlap instead of adding up.

use std::cell::RefCell;
use std::io::{self, Read};
use std::sync::mpsc;

use cplogs::Table;

use crate::batch::{BorrowedRecord, CHUNK, Scratch, frame, log_batch, render_records};
use crate::scan::Streaming;
use crate::{MAX_BODY, transform_batch_into};

/// Why a request could not be transformed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The body could not be read to its end.
    #[error("reading the request: {0}")]
    Read(#[from] io::Error),
    /// The body is not a Firehose transformation request.
    #[error("{0}")]
    Request(#[from] serde_json::Error),
    /// The body is longer than any request Lambda passes ([`MAX_BODY`]).
    #[error("the request is {0} bytes, more than any Lambda invocation carries")]
    TooLarge(usize),
}

/// [`transform_batch_into`] on a body of `length` bytes read from `body`, which ends
/// up in `request` (its buffer reused): the same parts, byte for byte.
///
/// While the body arrives, the records of a plain request are scanned as soon as they
/// are complete and rendered in units of [`CHUNK`] on the worker threads. A request
/// that is not of the plain shape, or whose units cannot all be rendered on the fast
/// path, is transformed again from the whole body by [`transform_batch_into`], which
/// decides what it holds. A body over [`MAX_BODY`] is refused before anything is read.
pub fn transform_stream_into(
    table: Table,
    body: &mut impl Read,
    length: usize,
    request: &mut Vec<u8>,
    parts: &mut Vec<Vec<u8>>,
) -> Result<(), StreamError> {
    if length > MAX_BODY {
        return Err(StreamError::TooLarge(length));
    }
    // Stale bytes beyond what is read are overwritten before they are looked at, so
    // a buffer already this large is not cleared again.
    request.resize(length, 0);
    // Buffers of the last response: its small first and last parts frame this one,
    // the others are taken by the units one by one.
    let mut spare = std::mem::take(parts);
    let last = spare.pop().unwrap_or_default();
    let first = if spare.is_empty() {
        Vec::new()
    } else {
        spare.swap_remove(0)
    };
    let (sent, rendered) = mpsc::channel();
    let (records, streamed) = rayon::in_place_scope(|scope| {
        let mut read = Reader {
            rest: &mut request[..],
            have: 0,
            received: 0,
            length,
        };
        let mut scan = Streaming::new();
        let mut unit: Vec<BorrowedRecord<'_>> = Vec::with_capacity(CHUNK);
        let mut units = Units {
            scope,
            table,
            sent: &sent,
            spare: &mut spare,
            count: 0,
            records: 0,
        };
        let mut plain = true;
        loop {
            let complete = read.received == length;
            if plain {
                let mut spans = Vec::new();
                match scan.step(&read.rest[..read.have], complete, &mut spans) {
                    None => plain = false,
                    Some(used) => {
                        let text = read.consume(used);
                        for span in spans {
                            let Some(record) = span.resolve(text) else {
                                plain = false;
                                break;
                            };
                            unit.push(record);
                            if unit.len() == CHUNK {
                                units
                                    .spawn(std::mem::replace(&mut unit, Vec::with_capacity(CHUNK)));
                            }
                        }
                        if plain && scan.done() && !unit.is_empty() {
                            units.spawn(std::mem::take(&mut unit));
                        }
                    }
                }
            }
            if complete {
                break;
            }
            read.more(body)?;
        }
        Ok::<_, io::Error>((units.records, plain && scan.done() && unit.is_empty()))
    })?;
    drop(sent);
    let mut done: Vec<Rendered> = rendered.into_iter().collect();
    done.sort_unstable_by_key(|(index, _, _)| *index);
    let failed: Option<usize> = done.iter().map(|(_, _, failed)| *failed).sum();
    let mut middle = done.into_iter().map(|(_, out, _)| out);
    match failed {
        Some(failed) if streamed => {
            let (mut first, mut last) = (first, last);
            frame(&mut first, &mut last);
            parts.push(first);
            parts.extend(&mut middle);
            parts.push(last);
            log_batch(table, records, failed);
            Ok(())
        }
        _ => {
            // Keep the buffers for the slow path.
            parts.push(first);
            parts.extend(middle.chain(spare));
            parts.push(last);
            transform_batch_into(table, request, parts)?;
            Ok(())
        }
    }
}

/// The most read at once. A body that arrived while the reader was away is all there
/// in one read; scanning all of it before the first unit is spawned would leave the
/// workers idle, so it is taken in pieces of about a hundred records.
const READ: usize = 128 * 1024;

thread_local! {
    /// Each worker's buffers, kept from unit to unit and batch to batch.
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// What a rendered unit sends back: its place, its part of the response, and how
/// many of its records failed (`None`: a record's data is not a valid JSON string).
type Rendered = (usize, Vec<u8>, Option<usize>);

/// The units of a request, spawned one by one as their records arrive.
struct Units<'s, 'scope> {
    scope: &'s rayon::Scope<'scope>,
    table: Table,
    sent: &'s mpsc::Sender<Rendered>,
    /// Buffers for the parts.
    spare: &'s mut Vec<Vec<u8>>,
    count: usize,
    records: usize,
}

impl<'scope> Units<'_, 'scope> {
    /// Renders `work` on a worker thread.
    fn spawn(&mut self, work: Vec<BorrowedRecord<'scope>>) {
        self.records += work.len();
        let mut out = self.spare.pop().unwrap_or_default();
        let (sent, table, index) = (self.sent.clone(), self.table, self.count);
        self.count += 1;
        self.scope.spawn(move |_| {
            let failed = SCRATCH.with_borrow_mut(|scratch| {
                render_records(table, &work, index > 0, true, scratch, &mut out)
            });
            // The receiver outlives the scope.
            let _ = sent.send((index, out, failed));
        });
    }
}

/// The part of the request buffer not yet handed to the workers: `rest[..have]` has
/// arrived, the rest of `rest` has not.
struct Reader<'a> {
    rest: &'a mut [u8],
    have: usize,
    received: usize,
    length: usize,
}

impl<'a> Reader<'a> {
    /// Hands over the first `used` bytes that have arrived; they are never written
    /// again, so the workers may read them while the rest arrives.
    fn consume(&mut self, used: usize) -> &'a [u8] {
        let (done, rest) = std::mem::take(&mut self.rest).split_at_mut(used);
        self.rest = rest;
        self.have -= used;
        done
    }

    /// Reads what has arrived since, up to [`READ`] bytes.
    fn more(&mut self, body: &mut impl Read) -> io::Result<()> {
        let end = self.rest.len().min(self.have + READ);
        let read = loop {
            match body.read(&mut self.rest[self.have..end]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                read => break read?,
            }
        };
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the request ended after {} of {} bytes",
                    self.received, self.length
                ),
            ));
        }
        self.have += read;
        self.received += read;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that must not be read.
    struct Untouched;

    impl Read for Untouched {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("read a body that was refused");
        }
    }

    #[test]
    fn a_length_no_invocation_has_is_refused_before_reading_or_allocating() {
        let (mut request, mut parts) = (Vec::new(), Vec::new());
        for length in [MAX_BODY + 1, usize::MAX] {
            let outcome = transform_stream_into(
                Table::Action,
                &mut Untouched,
                length,
                &mut request,
                &mut parts,
            );
            assert!(
                matches!(outcome, Err(StreamError::TooLarge(n)) if n == length),
                "{outcome:?}"
            );
            assert_eq!(request.capacity(), 0);
        }
    }

    #[test]
    fn a_body_shorter_than_its_length_is_a_read_error() {
        let (mut request, mut parts) = (Vec::new(), Vec::new());
        let body = br#"{"records":[{"recordId":"1","data":"e30="}]}"#;
        let outcome = transform_stream_into(
            Table::Action,
            &mut &body[..],
            body.len() + 10,
            &mut request,
            &mut parts,
        );
        let Err(StreamError::Read(e)) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
