//! Lambda entry point of the partition function: builds the Glue client once, then
//! serves S3 events with `cplogs_partition::function_handler`.

use cplogs_partition::{database_from_env, function_handler};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = cplogs::aws::sdk::load_config(&cplogs::aws::sdk::AwsOptions::default()).await;
    let glue = cplogs::aws::sdk::glue_client(&config);
    let database = database_from_env();
    let (glue, database) = (&glue, database.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        function_handler(glue, database, event)
    }))
    .await
}
