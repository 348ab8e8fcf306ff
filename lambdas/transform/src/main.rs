//! Lambda entry point of the Firehose transform: the Runtime API loop
//! ([`cplogs_transform::runtime`]) around `cplogs_transform::transform_stream_into`.

use cplogs_transform::{runtime, table_from_env, transform_stream_into};
use lambda_runtime::tracing;

// A batch allocates buffers from two threads; mimalloc handles that far better than
// the system allocator (see benches/handler.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    tracing::init_default_subscriber();
    runtime::serve(
        &runtime::api_from_env()?,
        table_from_env,
        |table, body, buffers| {
            let length = body.len();
            let (request, response) = (&mut buffers.request, &mut buffers.response);
            transform_stream_into(*table, body, length, request, response)
        },
    )
}
