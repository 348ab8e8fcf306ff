//! Lambda entry point of the Firehose transform: reads its table once, then serves
//! batches with `cplogs_transform::handle`.

use cplogs_transform::{function_handler, table_from_env};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};

// A batch allocates thousands of short-lived buffers from two threads; mimalloc
// handles that far better than the system allocator (see benches/handler.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let table = table_from_env()?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        function_handler(table, event)
    }))
    .await
}
