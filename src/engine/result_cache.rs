//! The local engine's answer cache: a statement's result kept beside the columnar
//! cache (same directory, same size bound), keyed by everything the answer depends on
//! (the statement, its parameters, the binary that computed it, and the path, size
//! and modification time of every file the plan reads), so a report run again over
//! unchanged files is answered without reading them.
//!
//! Only a statement whose answer is a function of those inputs is kept: no `now()`,
//! `random()` or other function that is not immutable, no EXPLAIN (its text has
//! timings), no result of a run that stepped over unreadable files, and no large
//! result. A new, removed or rewritten file in the window is another key.
//!
//! Finding that key means planning the statement (which files does it read?). A
//! [`Shortcut`] skips that: kept beside the answer, it holds the tables' folders as
//! they were before the statement was planned and the files it read, and a later run
//! whose folders and files are all unchanged takes the answer without setting up the
//! engine at all (a warm report costs little more than starting the process).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use datafusion::object_store::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::Query;
use super::cache::{FORMAT, object_modified_ns};
use super::folder_times::{FolderTimes, SETTLE, modified_ns};
use super::jsonl::display_path;

/// The largest result kept, in Arrow bytes: reports answer in kilobytes; a `query`
/// that returns millions of rows is not worth writing out again.
pub const MAX_RESULT_BYTES: usize = 16 << 20;

/// The entry name of `query`'s answer over `files` (for a statement found
/// [`deterministic`]), or `None` when it reads no file or the binary is unknown.
pub fn key(query: &Query, files: &[ObjectMeta]) -> Option<String> {
    if files.is_empty() {
        return None;
    }
    let mut text = question("result", query)?;
    for f in files {
        let path = f.location.as_ref();
        let modified = object_modified_ns(f);
        text.push_str(&format!(
            "\u{0}{}:{path}\u{0}{}\u{0}{modified}",
            path.len(),
            f.size
        ));
    }
    Some(format!("result-{}.arrow", crate::hash::hex128(&text)))
}

/// The text of everything a key holds besides files: the cache's format, what the
/// entry is, the binary, the statement and its parameters (lengths before texts, so
/// no two different inputs write the same text).
fn question(kind: &str, query: &Query) -> Option<String> {
    let exe = binary_identity()?;
    let mut text = format!(
        "{FORMAT}\u{0}{kind}\u{0}{exe}\u{0}{}:{}",
        query.sql.len(),
        query.sql
    );
    for p in &query.params {
        text.push_str(&format!("\u{0}{}:{p}", p.len()));
    }
    Some(text)
}

/// The entry name of the [`Shortcut`] to `query`'s answer over the tables under `root`.
pub fn shortcut_key(query: &Query, root: &Path) -> Option<String> {
    let mut text = question("shortcut", query)?;
    let root = root.to_string_lossy();
    text.push_str(&format!("\u{0}{}:{root}", root.len()));
    Some(format!("shortcut-{}.json", crate::hash::hex128(&text)))
}

/// What answers a statement again without setting up the engine, planning or listing:
/// its answer's entry, the tables' folders as they were before it was planned (so no
/// file was added, removed or renamed since), and each file it read as it was then
/// (so none was rewritten). Any difference and the statement is planned as usual.
#[derive(Debug, Serialize, Deserialize)]
pub struct Shortcut {
    /// Its own entry name: a shortcut copied to another's name is not that one.
    key: String,
    /// The answer's entry ([`key`]).
    pub answer: String,
    folders: FolderTimes,
    files: Vec<ReadFile>,
}

/// A file a statement read: its path on disk, size and modification time in ns.
#[derive(Debug, Serialize, Deserialize)]
struct ReadFile {
    path: PathBuf,
    size: u64,
    modified_ns: i64,
}

impl Shortcut {
    /// The shortcut kept under `key` to `answer`, computed from `files` after
    /// `folders` was taken; `None` when a file changed within [`SETTLE`] (its time
    /// could repeat).
    pub fn new(
        key: String,
        answer: String,
        folders: FolderTimes,
        files: &[ObjectMeta],
    ) -> Option<Self> {
        let settled = chrono::Utc::now() - SETTLE;
        let files = files
            .iter()
            .map(|f| {
                (f.last_modified <= settled).then(|| ReadFile {
                    path: PathBuf::from(display_path(&f.location)),
                    size: f.size,
                    modified_ns: object_modified_ns(f),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Shortcut {
            key,
            answer,
            folders,
            files,
        })
    }

    /// Whether this is the shortcut kept under `key` and its answer still holds: no
    /// folder and no file read changed.
    pub fn holds(&self, key: &str) -> bool {
        self.key == key
            && self.folders.unchanged()
            && self.files.iter().all(|f| {
                std::fs::metadata(&f.path)
                    .is_ok_and(|m| m.len() == f.size && modified_ns(&m) == Some(f.modified_ns))
            })
    }

    /// The files read, as the statistics name them, and their bytes.
    pub fn files(&self) -> (Vec<String>, u64) {
        let names = self
            .files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        (names, self.files.iter().map(|f| f.size).sum())
    }
}

/// Whether `plan` gives the same rows for the same files every time it runs: no
/// EXPLAIN, and only immutable functions (`now()` is stable, `random()` volatile),
/// in subqueries too.
pub fn deterministic(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if matches!(node, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::ScalarFunction(f) = e
                    && f.func.signature().volatility != Volatility::Immutable
                {
                    found = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    !found
}

/// The running binary's size and modification time: a rebuilt cplogs may answer
/// differently, so its answers are other entries. `None` (no answer cache) when the
/// binary cannot be found.
fn binary_identity() -> Option<&'static str> {
    static IDENTITY: OnceLock<Option<String>> = OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            let meta = std::env::current_exe().and_then(std::fs::metadata).ok()?;
            let modified = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            Some(format!("{}:{}", meta.len(), modified.as_nanos()))
        })
        .as_deref()
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn plan(sql: &str) -> LogicalPlan {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT, b VARCHAR)").await.unwrap();
        ctx.state().create_logical_plan(sql).await.unwrap()
    }

    fn file(path: &str, size: u64, modified_s: i64) -> ObjectMeta {
        ObjectMeta {
            location: path.into(),
            last_modified: chrono::DateTime::from_timestamp(modified_s, 0).unwrap(),
            size,
            e_tag: None,
            version: None,
        }
    }

    #[tokio::test]
    async fn only_immutable_statements_are_kept() {
        for sql in [
            "SELECT a, count(*) FROM t WHERE b = 'x' GROUP BY a ORDER BY a",
            "SELECT upper(b), a + 1 FROM t WHERE a IN (SELECT a FROM t WHERE b LIKE 'y%')",
        ] {
            assert!(deterministic(&plan(sql).await), "{sql}");
        }
        for sql in [
            "SELECT now(), a FROM t",
            "SELECT a FROM t WHERE random() < 0.5",
            "SELECT a FROM t WHERE a IN (SELECT a FROM t WHERE b < CAST(current_date AS VARCHAR))",
            "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM t WHERE b = uuid())",
            "EXPLAIN SELECT a FROM t",
            "EXPLAIN ANALYZE SELECT a FROM t",
        ] {
            assert!(!deterministic(&plan(sql).await), "{sql}");
        }
    }

    #[test]
    fn every_input_is_part_of_the_key() {
        let q = |sql: &str, params: &[&str]| Query {
            sql: sql.into(),
            params: params.iter().map(|s| s.to_string()).collect(),
        };
        let files = [
            file("d/dt=2026-11-01/a.gz", 10, 5),
            file("d/dt=2026-11-02/b.gz", 20, 6),
        ];
        let base = key(&q("S", &["x", "y"]), &files).unwrap();
        assert_eq!(key(&q("S", &["x", "y"]), &files).unwrap(), base);
        let others = [
            key(&q("S2", &["x", "y"]), &files),
            key(&q("S", &["x", "z"]), &files),
            // Parameters split differently are other parameters.
            key(&q("S", &["xy", ""]), &files),
            key(&q("S", &["x"]), &files),
            key(&q("S", &["x", "y"]), &files[..1]),
            key(
                &q("S", &["x", "y"]),
                &[files[0].clone(), file("d/dt=2026-11-02/b.gz", 21, 6)],
            ),
            key(
                &q("S", &["x", "y"]),
                &[files[0].clone(), file("d/dt=2026-11-02/b.gz", 20, 7)],
            ),
            key(
                &q("S", &["x", "y"]),
                &[files[0].clone(), file("d/dt=2026-11-02/c.gz", 20, 6)],
            ),
        ];
        for (i, other) in others.into_iter().enumerate() {
            assert_ne!(other.unwrap(), base, "variant {i}");
        }
        // No file read: nothing worth keeping.
        assert!(key(&q("S", &["x", "y"]), &[]).is_none());
        // A shortcut is to one statement over one directory.
        let root = Path::new("/data/logs");
        let shortcut = shortcut_key(&q("S", &["x", "y"]), root).unwrap();
        assert_ne!(shortcut, base);
        for other in [
            shortcut_key(&q("S", &["x", "y"]), Path::new("/data/logs2")),
            shortcut_key(&q("S2", &["x", "y"]), root),
            shortcut_key(&q("S", &["x", "z"]), root),
        ] {
            assert_ne!(other.unwrap(), shortcut);
        }
    }

    #[test]
    fn a_shortcut_holds_under_its_own_name_and_never_over_a_file_just_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.gz");
        std::fs::write(&path, b"data").unwrap();
        let hour_ago = crate::engine::folder_times::age(dir.path());
        let folders = FolderTimes::capture(dir.path(), []).unwrap();
        let modified = chrono::DateTime::<chrono::Utc>::from(hour_ago);
        let mut old = file(path.to_str().unwrap().trim_start_matches('/'), 4, 0);
        old.last_modified = modified;
        let new =
            |files: &[ObjectMeta]| Shortcut::new("s".into(), "a".into(), folders.clone(), files);
        let kept = new(std::slice::from_ref(&old)).unwrap();
        assert!(kept.holds("s"));
        // Copied to another shortcut's name, it is not that shortcut.
        assert!(!kept.holds("t"));
        // The file rewritten, even at the same size and with its time set back by a
        // second: no longer holds.
        std::fs::write(&path, b"DATA").unwrap();
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(hour_ago - std::time::Duration::from_secs(1))
            .unwrap();
        assert!(!kept.holds("s"));
        let mut fresh = file("d/b.gz", 10, 0);
        fresh.last_modified = chrono::Utc::now();
        assert!(new(&[old, fresh]).is_none());
    }
}
