//! Runs `transform_batch` on a request body file a given number of times, for
//! profilers (`valgrind --tool=callgrind`, `perf`) that want the Lambda's work
//! without the Runtime API around it. See `bench.sh`.
//!
//! usage: batch_loop REQUEST.json [TIMES] [TABLE]

use cplogs::Table;
use cplogs_transform::transform_batch;

// The Lambda's allocator, so the profile is the Lambda's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: batch_loop REQUEST.json [TIMES] [TABLE]")?;
    let times: usize = args
        .next()
        .map_or(Ok(1), |t| t.parse())
        .map_err(|e| format!("{e}"))?;
    let table = args
        .next()
        .unwrap_or_else(|| "action_execution_state_change".into());
    let table = Table::from_name(&table).ok_or(format!("no table {table}"))?;
    let body = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut bytes = 0;
    for _ in 0..times {
        bytes += transform_batch(table, &body)
            .map_err(|e| e.to_string())?
            .len();
    }
    println!("{times} batches, {bytes} response bytes");
    Ok(())
}
