//! The harness floor of a batch: the Lambda's own Runtime API loop posting a response
//! computed once at start, so `lambda_rt.py` times only the exchange around the
//! transform (receiving the request, copying and posting the response). `bench.sh`
//! times it beside the transform.
//!
//! usage, as a Lambda bootstrap: `CPLOGS_TABLE=… CPLOGS_FLOOR_REQUEST=REQUEST.json io_floor`

use cplogs_transform::{runtime, table_from_env, transform_batch_parts};
use lambda_runtime::Error;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let init = || {
        let table = table_from_env()?;
        let path = std::env::var("CPLOGS_FLOOR_REQUEST")
            .map_err(|_| "CPLOGS_FLOOR_REQUEST is not set".to_owned())?;
        let request = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        transform_batch_parts(table, &request).map_err(|e| e.to_string())
    };
    runtime::serve(
        &runtime::api_from_env()?,
        init,
        |response: &Vec<Vec<u8>>, _body| Ok::<_, std::convert::Infallible>(response.clone()),
    )
    .await
}
