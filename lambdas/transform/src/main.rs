//! Lambda entry point of the Firehose transform: the Runtime API loop
//! ([`cplogs_transform::runtime`]) around `cplogs_transform::transform_batch_parts`.

use cplogs_transform::{runtime, table_from_env, transform_batch_parts};
use lambda_runtime::{Error, tracing};

// A batch allocates buffers from two threads; mimalloc handles that far better than
// the system allocator (see benches/handler.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let api = runtime::api_from_env()?;
    runtime::serve(&api, table_from_env, |table, body| {
        transform_batch_parts(*table, body)
    })
    .await
}
