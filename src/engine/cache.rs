//! The local engine's columnar cache: what a data file decoded to (for the columns a
//! query reads) kept as an Arrow IPC file under the user's cache directory, keyed by
//! the file's path, size and modification time and by the columns' schema, so a
//! repeated report skips gunzip and JSON decoding. A changed or new file has another
//! key and is read again; the cache never fails a query (it is only ever skipped), and
//! is bounded in size (oldest used entries go first).

use std::fs;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::SystemTime;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;

/// Bumped when what is cached changes meaning (the decoder's rules, how answers are
/// keyed), so old entries are never read.
pub(super) const FORMAT: u32 = 1;

/// The metadata entry each cache file carries its own key in: a file copied or
/// renamed to another entry's name is not that entry.
const KEY_METADATA: &str = "cplogs.cache.key";

/// A cache directory and its size bound.
#[derive(Debug, Clone)]
pub struct ColumnarCache {
    dir: PathBuf,
    limit: u64,
}

impl ColumnarCache {
    /// The cache under `dir` (created when first written), at most `limit` bytes.
    pub fn new(dir: PathBuf, limit: u64) -> Self {
        ColumnarCache { dir, limit }
    }

    /// The entry name of a file as it is now (`size`, `modified`) decoded to `schema`.
    pub fn key(path: &str, size: u64, modified_ns: i64, schema: &Schema) -> String {
        let text = format!("{FORMAT}\u{0}{path}\u{0}{size}\u{0}{modified_ns}\u{0}{schema:?}");
        format!("{}.arrow", crate::hash::hex128(&text))
    }

    /// The batches of `schema` cached under `key`, if any. An entry that is damaged,
    /// not of `schema`, or not written under `key` (copied from another) is removed
    /// and missed.
    pub fn get(&self, key: &str, schema: &Schema) -> Option<Vec<RecordBatch>> {
        let path = self.dir.join(key);
        let file = fs::File::open(&path).ok()?;
        let batches = FileReader::try_new(file, None)
            .ok()
            .filter(|r| {
                r.schema().as_ref() == schema
                    && r.custom_metadata().get(KEY_METADATA).map(String::as_str) == Some(key)
            })
            .and_then(|r| r.collect::<Result<Vec<_>, _>>().ok());
        match batches {
            Some(b) => {
                // Recently used entries are the last to go.
                if let Ok(f) = fs::File::options().append(true).open(&path) {
                    let _ = f.set_modified(SystemTime::now());
                }
                Some(b)
            }
            None => {
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Keeps `batches` under `key`: written to a temporary name and renamed, so a
    /// reader never sees half an entry. Failures only mean no cache.
    pub fn put(&self, key: &str, schema: &Schema, batches: &[RecordBatch]) {
        if fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let written = (|| -> Option<()> {
            let file = fs::File::create(&tmp).ok()?;
            let mut w = FileWriter::try_new(BufWriter::new(file), schema).ok()?;
            w.write_metadata(KEY_METADATA, key);
            for b in batches {
                w.write(b).ok()?;
            }
            w.finish().ok()
        })();
        if written.is_none() || fs::rename(&tmp, self.dir.join(key)).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }

    /// Removes the least recently used entries until the cache is within its bound
    /// (and temporary files left by a killed process).
    pub fn evict(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let hour = std::time::Duration::from_secs(3600);
        files.retain(|(t, _, p)| {
            let stale_tmp = p.extension().is_some_and(|x| x == "tmp")
                && t.elapsed().is_ok_and(|age| age > hour);
            if stale_tmp {
                let _ = fs::remove_file(p);
            }
            !stale_tmp
        });
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.limit {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    fn batch(n: i64) -> (Arc<Schema>, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![n, n + 1])),
                Arc::new(StringArray::from(vec![Some("x"), None])),
            ],
        )
        .unwrap();
        (schema, b)
    }

    #[test]
    fn entries_round_trip_and_keys_change_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ColumnarCache::new(dir.path().join("c"), 1 << 30);
        let (schema, b) = batch(1);
        let key = ColumnarCache::key("/d/t/dt=2026-11-01/f.gz", 100, 5, &schema);
        assert!(cache.get(&key, &schema).is_none());
        cache.put(&key, &schema, std::slice::from_ref(&b));
        assert_eq!(cache.get(&key, &schema).unwrap(), vec![b.clone()]);
        // Another size, time, path or schema is another entry.
        for other in [
            ColumnarCache::key("/d/t/dt=2026-11-01/f.gz", 101, 5, &schema),
            ColumnarCache::key("/d/t/dt=2026-11-01/f.gz", 100, 6, &schema),
            ColumnarCache::key("/d/t/dt=2026-11-02/f.gz", 100, 5, &schema),
            ColumnarCache::key("/d/t/dt=2026-11-01/f.gz", 100, 5, &Schema::empty()),
        ] {
            assert_ne!(other, key);
            assert!(cache.get(&other, &schema).is_none());
        }
        // A damaged entry is a miss, and goes.
        fs::write(dir.path().join("c").join(&key), b"ARROW1 broken").unwrap();
        assert!(cache.get(&key, &schema).is_none());
        assert!(!dir.path().join("c").join(&key).exists());
        // An entry copied to another entry's name is not that entry.
        let other = ColumnarCache::key("/d/t/dt=2026-11-02/g.gz", 100, 5, &schema);
        cache.put(&key, &schema, std::slice::from_ref(&b));
        fs::copy(
            dir.path().join("c").join(&key),
            dir.path().join("c").join(&other),
        )
        .unwrap();
        assert!(cache.get(&other, &schema).is_none());
        assert!(!dir.path().join("c").join(&other).exists());
        // An entry of other columns than asked for is missed too.
        assert!(cache.get(&key, &Schema::empty()).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_bound_dropping_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let (schema, b) = batch(1);
        let unbounded = ColumnarCache::new(dir.path().to_path_buf(), u64::MAX);
        for i in 0..5 {
            unbounded.put(&format!("k{i}.arrow"), &schema, std::slice::from_ref(&b));
            let old = SystemTime::now() - std::time::Duration::from_secs(100 - i);
            let f = fs::File::options()
                .append(true)
                .open(dir.path().join(format!("k{i}.arrow")))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        let one = fs::metadata(dir.path().join("k0.arrow")).unwrap().len();
        ColumnarCache::new(dir.path().to_path_buf(), 2 * one).evict();
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["k3.arrow", "k4.arrow"]);
        // Unwritable (even for root: /dev/null is not a folder): nothing breaks.
        ColumnarCache::new(PathBuf::from("/dev/null/cache"), 1).put("k", &schema, &[b]);
    }
}
