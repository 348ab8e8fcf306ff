//! A minimal Lambda Runtime API client: hands each raw request body to a function and
//! posts the bytes it returns (or the Runtime API's error document).
//!
//! Not `lambda_runtime::run`: that deserialises every request into a value and
//! serialises every response again, single-threaded, which cost more than the
//! transform itself on a full 6 MB batch. The protocol is small (next, response,
//! error, init error) and uses lambda_runtime's own HTTP client.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use lambda_runtime::{Error, tracing};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};

const API: &str = "/2018-06-01/runtime";

/// The Runtime API's address from `AWS_LAMBDA_RUNTIME_API`, which Lambda sets.
pub fn api_from_env() -> Result<String, Error> {
    std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set: this binary runs inside AWS Lambda".into())
}

/// Serves invocations from the Runtime API at `api` (`host:port`) until it goes away:
/// `init` runs once (its error is reported as the function's init error), then
/// `handler` once per request body; it returns the response body in consecutive
/// parts, posted as they are.
///
/// A handler error fails that invocation as `Runtime.DeserializationError` (the body
/// is not the request the function takes); a panic fails it as `Runtime.Panic`
/// instead of ending the runtime, so Firehose retries the batch.
pub async fn serve<S, E: std::fmt::Display>(
    api: &str,
    init: impl FnOnce() -> Result<S, String>,
    handler: impl Fn(&S, &[u8]) -> Result<Vec<Vec<u8>>, E>,
) -> Result<(), Error> {
    let endpoint: http::Uri = format!("http://{api}")
        .parse()
        .map_err(|e| format!("the Runtime API address {api:?} is not usable: {e}"))?;
    let client = PooledClient::builder().with_endpoint(endpoint).build();
    let state = match init() {
        Ok(state) => state,
        Err(message) => {
            // Lambda shows this as the function's init error.
            let request =
                error_request(&format!("{API}/init/error"), "Runtime.InitError", &message)?;
            client.call(request).await?;
            return Err(message.into());
        }
    };
    // One request buffer for the life of the runtime: a batch is up to 6 MB, and
    // pages already mapped are not faulted in again for every batch.
    let mut request = Vec::new();
    loop {
        let next = build_request()
            .method("GET")
            .uri(format!("{API}/invocation/next"))
            .body(Body::empty())?;
        let (parts, mut body) = client.call(next).await?.into_parts();
        // Copied as it arrives, while the rest is still on its way.
        request.clear();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                request.extend_from_slice(&data);
            }
        }
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let Some(request_id) = header("lambda-runtime-aws-request-id").map(str::to_owned) else {
            return Err("the Runtime API sent an invocation without a request id".into());
        };
        let span = tracing::info_span!("Lambda runtime invoke", requestId = %request_id);
        let outcome =
            span.in_scope(|| catch_unwind(AssertUnwindSafe(|| handler(&state, &request))));
        let mut reply = match outcome {
            Ok(Ok(response)) => build_request()
                .method("POST")
                .uri(format!("{API}/invocation/{request_id}/response"))
                .body(Body::new(Parts::new(response)))?,
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
            reply
                .headers_mut()
                .insert("lambda-runtime-invocation-id", id.clone());
        }
        client.call(reply).await?;
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

/// A body sent as the parts it was written in, with its exact length known (so it goes
/// out with a `Content-Length`, as the Runtime API expects, not chunked).
struct Parts(VecDeque<Bytes>);

impl Parts {
    fn new(parts: Vec<Vec<u8>>) -> Parts {
        Parts(parts.into_iter().map(Bytes::from).collect())
    }
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|part| part.len() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::Parts;

    #[tokio::test]
    async fn parts_are_sent_in_order_with_their_exact_length() {
        let body = Parts::new(vec![
            b"{\"records\":[".to_vec(),
            Vec::new(),
            b"1,2".to_vec(),
            b"]}".to_vec(),
        ]);
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(17));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"{\"records\":[1,2]}");
    }
}
