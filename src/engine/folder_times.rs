//! The modification times of every folder the local engine lists: taken before a
//! query is planned and compared on a later run, they tell without listing or
//! planning anything that no file was added, removed or renamed under the tables
//! since (a folder's time changes with its entries; a new folder changes its
//! parent's). Files changed in place are the caller's to check (their size and time).
//!
//! Timestamps have a granularity (a clock tick, two seconds on FAT), so a folder
//! changed within [`SETTLE`] of the snapshot could change again with the same time:
//! such a snapshot is not taken, as git does for its "racily clean" index entries.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long a folder must have been left alone for its time to be trusted.
pub const SETTLE: Duration = Duration::from_secs(2);

/// The most folders a snapshot holds; a bigger tree (or a symlink loop) is not kept.
const MAX_FOLDERS: usize = 20_000;

/// How deep below a table's folder a snapshot looks (DataFusion lists any depth; the
/// layout has one level, `dt=…`).
const MAX_DEPTH: usize = 8;

/// Folders and their modification times (ns since the epoch), in walk order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderTimes(Vec<(PathBuf, i64)>);

impl FolderTimes {
    /// `root` and every folder under `root/<table>` for each of `tables` (symlinks
    /// followed, as DataFusion lists). `None` when a folder changed within [`SETTLE`],
    /// cannot be read, or the tree is too big or too deep.
    pub fn capture<'a>(root: &Path, tables: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let settled = SystemTime::now().checked_sub(SETTLE)?;
        let mut folders = Vec::new();
        push(&mut folders, root, settled)?;
        for table in tables {
            let dir = root.join(table);
            // A table without its folder reads nothing; the folder's appearance
            // changes `root`'s time, which is kept.
            if fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
                walk(&mut folders, &dir, 0, settled)?;
            }
        }
        Some(FolderTimes(folders))
    }

    /// Whether every folder is still there with the same modification time.
    pub fn unchanged(&self) -> bool {
        self.0.iter().all(|(path, time)| {
            fs::metadata(path)
                .ok()
                .and_then(|m| modified_ns(&m))
                .is_some_and(|t| t == *time)
        })
    }
}

fn walk(
    folders: &mut Vec<(PathBuf, i64)>,
    dir: &Path,
    depth: usize,
    settled: SystemTime,
) -> Option<()> {
    if depth > MAX_DEPTH || folders.len() >= MAX_FOLDERS {
        return None;
    }
    push(folders, dir, settled)?;
    for entry in fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let kind = entry.file_type().ok()?;
        let is_dir = if kind.is_symlink() {
            fs::metadata(entry.path()).is_ok_and(|m| m.is_dir())
        } else {
            kind.is_dir()
        };
        if is_dir {
            walk(folders, &entry.path(), depth + 1, settled)?;
        }
    }
    Some(())
}

fn push(folders: &mut Vec<(PathBuf, i64)>, dir: &Path, settled: SystemTime) -> Option<()> {
    let modified = fs::metadata(dir).ok()?.modified().ok()?;
    if modified > settled {
        return None;
    }
    folders.push((dir.to_path_buf(), nanos(modified)?));
    Some(())
}

/// A file's or folder's modification time in ns since the epoch.
pub fn modified_ns(meta: &fs::Metadata) -> Option<i64> {
    nanos(meta.modified().ok()?)
}

fn nanos(t: SystemTime) -> Option<i64> {
    i64::try_from(t.duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()
}

/// Sets the modification time of `path` and of everything under it an hour back, as
/// if written long ago (so a snapshot trusts it), and returns that time.
#[cfg(test)]
pub(super) fn age(path: &Path) -> SystemTime {
    fn set(path: &Path, time: SystemTime) {
        if path.is_dir() {
            for e in fs::read_dir(path).unwrap() {
                set(&e.unwrap().path(), time);
            }
        }
        fs::File::open(path).unwrap().set_modified(time).unwrap();
    }
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    set(path, hour_ago);
    hour_ago
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let day = root.path().join("t/dt=2026-11-01");
        fs::create_dir_all(&day).unwrap();
        fs::write(day.join("a.gz"), b"x").unwrap();
        age(root.path());
        root
    }

    #[test]
    fn any_entry_added_removed_or_renamed_under_a_table_is_seen() {
        type Change = fn(&Path);
        let changes: [(&str, Change); 6] = [
            ("a file added", |r| {
                fs::write(r.join("t/dt=2026-11-01/b.gz"), b"y").unwrap()
            }),
            ("a file removed", |r| {
                fs::remove_file(r.join("t/dt=2026-11-01/a.gz")).unwrap()
            }),
            ("a file renamed", |r| {
                let d = r.join("t/dt=2026-11-01");
                fs::rename(d.join("a.gz"), d.join("c.gz")).unwrap()
            }),
            ("a partition added", |r| {
                fs::create_dir(r.join("t/dt=2026-11-02")).unwrap()
            }),
            ("a nested folder added", |r| {
                fs::create_dir(r.join("t/dt=2026-11-01/sub")).unwrap()
            }),
            ("a table folder added", |r| {
                fs::create_dir(r.join("u")).unwrap()
            }),
        ];
        for (what, change) in changes {
            let root = tree();
            let before = FolderTimes::capture(root.path(), ["t", "u"]).unwrap();
            assert!(before.unchanged(), "{what}: unchanged before");
            change(root.path());
            assert!(!before.unchanged(), "{what}: not seen");
        }
    }

    #[test]
    fn a_file_rewritten_in_place_is_left_to_the_caller_and_a_fresh_tree_is_not_kept() {
        let root = tree();
        let before = FolderTimes::capture(root.path(), ["t"]).unwrap();
        fs::write(root.path().join("t/dt=2026-11-01/a.gz"), b"other").unwrap();
        // Only the file's own size and time say it changed.
        assert!(before.unchanged());
        // Just written: its times could repeat, so no snapshot.
        fs::write(root.path().join("t/dt=2026-11-01/b.gz"), b"y").unwrap();
        assert_eq!(FolderTimes::capture(root.path(), ["t"]), None);
        // A missing table folder is no obstacle.
        age(&root.path().join("t/dt=2026-11-01"));
        assert!(FolderTimes::capture(root.path(), ["t", "missing"]).is_some());
    }
}
