//! glibc's allocator, set up once at start: two arenas, one per query worker, and
//! large blocks kept for reuse instead of mapped and unmapped for every file.
//!
//! Arenas. By default glibc gives each thread that meets contention its own arena (up
//! to 8 per core), and memory freed into one arena is never reused by another. The
//! engine decodes files on tokio's two workers and reads them on its blocking threads,
//! so every thread ends up holding freed decode buffers of its own. Measured at 2M
//! events (`freshness`, peak RSS and time): 367 MB and 1.86 s by default, 297 MB and
//! 2.03 s with one arena (the lock is contended: `trends` at 1M was 12% slower), 324 MB
//! and 1.76 s with two, which keeps the workers apart and was as fast as the default or
//! faster on every report tried.
//!
//! Large blocks. Each file is decoded into column buffers of a few MB, freed when the
//! next file starts. glibc maps a block above its mmap threshold (128 KiB at first,
//! raised as such blocks are freed) afresh, and gives the top of the heap back to the
//! system past its trim threshold, so every file paid for new zeroed pages: 0.65 s of
//! system time in a 2.3 s `failures` at 1.1M events. With both thresholds fixed at
//! [`MMAP_THRESHOLD`] and [`TRIM_THRESHOLD`], system time fell to 0.15-0.3 s and
//! reports ran 10-20% faster (failures, flaky, freshness, durations), peak RSS within
//! 30 MB of before; mimalloc and jemalloc (preloaded) were no faster and used more
//! system time on `inventory`.
//!
//! Each setting's glibc environment variable (`MALLOC_ARENA_MAX`,
//! `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) still wins.

/// Arenas for the whole process: one per tokio worker (`cli::runtime`).
const ARENAS: i32 = 2;
/// Blocks up to this size come from the heap, where freed ones are reused.
const MMAP_THRESHOLD: i32 = 16 << 20;
/// Free memory at the top of the heap kept for the next file rather than returned.
const TRIM_THRESHOLD: i32 = 32 << 20;

/// Sets glibc's malloc to [`ARENAS`] arenas, [`MMAP_THRESHOLD`] and
/// [`TRIM_THRESHOLD`], each unless its environment variable is set. Call first thing in
/// `main`, before any thread exists. A no-op off glibc.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for (variable, parameter, value) in [
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, ARENAS),
        (
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD,
        ),
        (
            "MALLOC_TRIM_THRESHOLD_",
            libc::M_TRIM_THRESHOLD,
            TRIM_THRESHOLD,
        ),
    ] {
        if std::env::var_os(variable).is_none() {
            // SAFETY: mallopt only sets a tuning parameter of glibc's allocator, and
            // is called before any other thread exists; it returns 0 if it refuses,
            // which leaves glibc's default (nothing to handle).
            #[allow(unsafe_code)]
            unsafe {
                libc::mallopt(parameter, value);
            }
        }
    }
}
