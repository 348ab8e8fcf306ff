//! The harness floor of a batch: the Lambda's own Runtime API loop posting a response
//! computed once at start, so `lambda_rt.py` times only the exchange around the
//! transform (reading the request into the same buffer, posting the response).
//! `bench.sh` times it beside the transform.
//!
//! usage, as a Lambda bootstrap: `CPLOGS_TABLE=… CPLOGS_FLOOR_REQUEST=REQUEST.json io_floor`

use std::io::Read;

use cplogs_transform::{runtime, table_from_env, transform_batch_into};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let init = || {
        let table = table_from_env()?;
        let path = std::env::var("CPLOGS_FLOOR_REQUEST")
            .map_err(|_| "CPLOGS_FLOOR_REQUEST is not set".to_owned())?;
        let request = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        let mut response = Vec::new();
        transform_batch_into(table, &request, &mut response).map_err(|e| e.to_string())?;
        Ok(response)
    };
    // The runtime keeps the response from one invocation to the next: once it holds
    // the answer, only the reading is left to do.
    runtime::serve(
        &runtime::api_from_env()?,
        init,
        |response: &Vec<Vec<u8>>, body, buffers| {
            buffers.request.resize(body.len(), 0);
            body.read_exact(&mut buffers.request)?;
            if buffers.response.is_empty() {
                buffers.response.clone_from(response);
            }
            Ok::<_, std::io::Error>(())
        },
    )
}
