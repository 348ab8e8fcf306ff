//! The query side on the embedded engine: every report's values on a hand-built
//! history (and agreement with a second engine), the SQL files' rules, and the local
//! engine under bad files, memory limits and timeouts. One test binary for all of them.

#[path = "../common/mod.rs"]
mod common;

mod local_faults;
mod reports;
mod sql;
