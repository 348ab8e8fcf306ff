//! glibc's allocator, set up once at start: two arenas, one per query worker.
//!
//! By default glibc gives each thread that meets contention its own arena (up to 8 per
//! core), and memory freed into one arena is never reused by another. The engine
//! decodes files on tokio's two workers and reads them on its blocking threads, so
//! every thread ends up holding freed decode buffers of its own. Measured at 2M events
//! (`freshness`, peak RSS and time): 367 MB and 1.86 s by default, 297 MB and 2.03 s
//! with one arena (the lock is contended: `trends` at 1M was 12% slower), 324 MB and
//! 1.76 s with two, which keeps the workers apart and was as fast as the default or
//! faster on every report tried. `MALLOC_ARENA_MAX` in the environment still wins.

/// Arenas for the whole process: one per tokio worker (`cli::runtime`).
const ARENAS: i32 = 2;

/// Limits glibc's malloc to [`ARENAS`] arenas, unless `MALLOC_ARENA_MAX` is set. Call
/// first thing in `main`, before any thread exists. A no-op off glibc.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tuning parameter of glibc's allocator, and is
        // called before any other thread exists; it returns 0 if it refuses, which
        // leaves glibc's defaults (nothing to handle).
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}
