//! The local engine's columnar cache: what a data file decoded to (for the columns a
//! query reads) kept as an Arrow IPC file under the user's cache directory, keyed by
//! the file's path, size and modification time and by the columns' schema, so a
//! repeated report skips gunzip and JSON decoding. A changed or new file has another
//! key and is read again; the cache never fails a query (it is only ever skipped), and
//! is bounded in size (oldest used entries go first). The answer cache
//! (`super::result_cache`) keeps its entries here too.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::object_store::ObjectMeta;

/// Bumped when what is cached changes meaning (the decoder's rules, how answers are
/// keyed), so old entries are never read.
pub(super) const FORMAT: u32 = 1;

/// The metadata entry each cache file carries its own key in: a file copied or
/// renamed to another entry's name is not that entry.
const KEY_METADATA: &str = "cplogs.cache.key";

/// A listed file's modification time in ns since the epoch, as the keys hold it.
pub fn object_modified_ns(meta: &ObjectMeta) -> i64 {
    meta.last_modified.timestamp_nanos_opt().unwrap_or_default()
}

/// A cache directory and its size bound. Trimmed to the bound when dropped, if this
/// process wrote to it: a run that only reads does not walk the whole directory.
#[derive(Debug)]
pub struct ColumnarCache {
    dir: PathBuf,
    limit: u64,
    wrote: AtomicBool,
}

impl Drop for ColumnarCache {
    fn drop(&mut self) {
        if self.wrote.load(Ordering::Relaxed) {
            self.evict();
        }
    }
}

impl ColumnarCache {
    /// The cache under `dir` (created when first written), at most `limit` bytes.
    pub fn new(dir: PathBuf, limit: u64) -> Self {
        ColumnarCache {
            dir,
            limit,
            wrote: AtomicBool::new(false),
        }
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
        self.read(key, Some(schema)).map(|(_, batches)| batches)
    }

    /// The batches cached under `key` and their schema, whatever it is.
    pub fn get_any(&self, key: &str) -> Option<(SchemaRef, Vec<RecordBatch>)> {
        self.read(key, None)
    }

    fn read(&self, key: &str, schema: Option<&Schema>) -> Option<(SchemaRef, Vec<RecordBatch>)> {
        let path = self.dir.join(key);
        let file = fs::File::open(&path).ok()?;
        let read = FileReader::try_new(file, None)
            .ok()
            .filter(|r| {
                schema.is_none_or(|s| r.schema().as_ref() == s)
                    && r.custom_metadata().get(KEY_METADATA).map(String::as_str) == Some(key)
            })
            .and_then(|r| {
                let schema = r.schema();
                Some((schema, r.collect::<Result<Vec<_>, _>>().ok()?))
            });
        self.used_or_removed(key, read)
    }

    /// Keeps `batches` under `key`: written to a temporary name and renamed, so a
    /// reader never sees half an entry. Failures only mean no cache.
    pub fn put(&self, key: &str, schema: &Schema, batches: &[RecordBatch]) {
        self.write(key, |file| {
            let mut w = FileWriter::try_new(file, schema).ok()?;
            w.write_metadata(KEY_METADATA, key);
            for b in batches {
                w.write(b).ok()?;
            }
            w.finish().ok()
        });
    }

    /// The bytes kept under `key` by [`ColumnarCache::put_bytes`].
    pub fn get_bytes(&self, key: &str) -> Option<Vec<u8>> {
        let bytes = fs::read(self.dir.join(key)).ok();
        self.used_or_removed(key, bytes)
    }

    /// Keeps `bytes` under `key`, as [`ColumnarCache::put`] does.
    pub fn put_bytes(&self, key: &str, bytes: &[u8]) {
        self.write(key, |w| w.write_all(bytes).ok());
    }

    /// Marks a hit as recently used (the last to go), or removes what missed.
    fn used_or_removed<T>(&self, key: &str, found: Option<T>) -> Option<T> {
        let path = self.dir.join(key);
        match found {
            Some(_) => {
                if let Ok(f) = fs::File::options().append(true).open(&path) {
                    let _ = f.set_modified(SystemTime::now());
                }
            }
            None => {
                let _ = fs::remove_file(&path);
            }
        }
        found
    }

    fn write(&self, key: &str, fill: impl FnOnce(&mut BufWriter<fs::File>) -> Option<()>) {
        if fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let written = (|| -> Option<()> {
            let mut file = BufWriter::new(fs::File::create(&tmp).ok()?);
            fill(&mut file)?;
            file.flush().ok()
        })();
        if written.is_none() || fs::rename(&tmp, self.dir.join(key)).is_err() {
            let _ = fs::remove_file(&tmp);
            return;
        }
        self.wrote.store(true, Ordering::Relaxed);
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
        // Entry `k{i}`, last used 100 - i seconds ago.
        let put_aged = |i: u64| {
            unbounded.put(&format!("k{i}.arrow"), &schema, std::slice::from_ref(&b));
            let old = SystemTime::now() - std::time::Duration::from_secs(100 - i);
            let f = fs::File::options()
                .append(true)
                .open(dir.path().join(format!("k{i}.arrow")))
                .unwrap();
            f.set_modified(old).unwrap();
        };
        (0..5).for_each(put_aged);
        let one = fs::metadata(dir.path().join("k0.arrow")).unwrap().len();
        ColumnarCache::new(dir.path().to_path_buf(), 2 * one).evict();
        let names = || {
            let mut n: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(), ["k3.arrow", "k4.arrow"]);
        // Over its bound again: a run that only reads leaves the directory alone
        // (it is not even walked), one that wrote trims it when done.
        (5..8).for_each(put_aged);
        let reader = ColumnarCache::new(dir.path().to_path_buf(), 2 * one);
        assert!(reader.get("k7.arrow", &schema).is_some());
        drop(reader);
        assert_eq!(names().len(), 5);
        let writer = ColumnarCache::new(dir.path().to_path_buf(), 2 * one);
        writer.put_bytes("k8", b"x");
        assert_eq!(names().len(), 6, "trimmed only when done");
        drop(writer);
        assert_eq!(names(), ["k7.arrow", "k8"]);
        // Unwritable (even for root: /dev/null is not a folder): nothing breaks.
        ColumnarCache::new(PathBuf::from("/dev/null/cache"), 1).put("k", &schema, &[b]);
    }
}
