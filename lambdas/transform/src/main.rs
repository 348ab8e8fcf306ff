//! Lambda entry point of the Firehose transform: reads its table once, then serves
//! batches with `cplogs_transform::handle`.

use cplogs_transform::{function_handler, table_from_env};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let table = table_from_env()?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        function_handler(table, event)
    }))
    .await
}
