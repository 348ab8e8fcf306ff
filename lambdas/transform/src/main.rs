//! Lambda entry point of the Firehose transform: a minimal Lambda Runtime API client
//! that hands each raw request body to `cplogs_transform::transform_batch` and posts
//! the bytes it returns.
//!
//! Not `lambda_runtime::run`: that deserialises every request into a value and
//! serialises every response again, single-threaded, which cost more than the
//! transform itself on a full 6 MB batch. The protocol is small (next, response,
//! error, init error) and uses lambda_runtime's own HTTP client.

use std::panic::{AssertUnwindSafe, catch_unwind};

use cplogs_transform::{table_from_env, transform_batch};
use http_body_util::BodyExt;
use lambda_runtime::{Error, tracing};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};

// A batch allocates buffers from two threads; mimalloc handles that far better than
// the system allocator (see benches/handler.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const API: &str = "/2018-06-01/runtime";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // The client builder panics without it; outside Lambda, say so instead.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Err("AWS_LAMBDA_RUNTIME_API is not set: this binary runs inside AWS Lambda".into());
    }
    let client = PooledClient::builder().build();
    let table = match table_from_env() {
        Ok(table) => table,
        Err(message) => {
            // Lambda shows this as the function's init error.
            let request =
                error_request(&format!("{API}/init/error"), "Runtime.InitError", &message)?;
            client.call(request).await?;
            return Err(message.into());
        }
    };
    loop {
        let next = build_request()
            .method("GET")
            .uri(format!("{API}/invocation/next"))
            .body(Body::empty())?;
        let (parts, body) = client.call(next).await?.into_parts();
        let body = body.collect().await?.to_bytes();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let Some(request_id) = header("lambda-runtime-aws-request-id").map(str::to_owned) else {
            return Err("the Runtime API sent an invocation without a request id".into());
        };
        let span = tracing::info_span!("Lambda runtime invoke", requestId = %request_id);
        // A panic would be a bug; it fails this invocation (Firehose retries the
        // batch) instead of the whole runtime.
        let outcome =
            span.in_scope(|| catch_unwind(AssertUnwindSafe(|| transform_batch(table, &body))));
        let mut request = match outcome {
            Ok(Ok(response)) => build_request()
                .method("POST")
                .uri(format!("{API}/invocation/{request_id}/response"))
                .body(Body::from(response))?,
            Ok(Err(e)) => {
                let message = format!("not a Firehose transformation request: {e}");
                tracing::error!(%message, "invocation failed");
                error_request(
                    &format!("{API}/invocation/{request_id}/error"),
                    "Runtime.DeserializationError",
                    &message,
                )?
            }
            Err(_) => error_request(
                &format!("{API}/invocation/{request_id}/error"),
                "Runtime.Panic",
                "the transform panicked",
            )?,
        };
        // Lets the Runtime API reject a reply to an invocation that timed out.
        if let Some(id) = parts.headers.get("lambda-runtime-invocation-id") {
            request
                .headers_mut()
                .insert("lambda-runtime-invocation-id", id.clone());
        }
        client.call(request).await?;
    }
}

/// A POST of the Runtime API's error document.
fn error_request(uri: &str, error_type: &str, message: &str) -> Result<http::Request<Body>, Error> {
    let body = serde_json::to_vec(&serde_json::json!({
        "errorType": error_type,
        "errorMessage": message,
    }))?;
    Ok(build_request()
        .method("POST")
        .uri(uri)
        .header("lambda-runtime-function-error-type", error_type)
        .body(Body::from(body))?)
}
