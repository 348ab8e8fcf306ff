//! A minimal Lambda Runtime API client on one blocking HTTP/1.1 connection: hands each
//! raw request body to a function as it arrives ([`Body`]) and posts the bytes it
//! writes (or the Runtime API's error document).
//!
//! Not `lambda_runtime::run`: that deserialises every request into a value and
//! serialises every response again, single-threaded, which cost more than the
//! transform itself on a full 6 MB batch. Not an async HTTP client either: the
//! protocol is two requests in turn on one keep-alive connection (next, then response
//! or error), and doing it by hand lets the request body land straight in one buffer
//! and the response go out in one vectored write from buffers, both kept for the life
//! of the runtime, so a warm invocation neither copies nor faults in 10 MB of fresh
//! pages.

use std::fmt::Display;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lambda_runtime::tracing;

use crate::MAX_BODY;

const API: &str = "/2018-06-01/runtime";

/// The most header bytes accepted in one response: the Runtime API sends a handful.
const MAX_HEAD: usize = 64 * 1024;

/// The Runtime API's address from `AWS_LAMBDA_RUNTIME_API`, which Lambda sets.
pub fn api_from_env() -> io::Result<String> {
    std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
        io::Error::other("AWS_LAMBDA_RUNTIME_API is not set: this binary runs inside AWS Lambda")
    })
}

/// Buffers a handler fills, kept from one invocation to the next: a batch is up to
/// 6 MB each way, and pages mapped once serve every invocation.
#[derive(Debug, Default)]
pub struct Buffers {
    /// For the request body, as the handler reads it.
    pub request: Vec<u8>,
    /// The response body in consecutive parts, posted in order. They keep their
    /// content until the handler changes it.
    pub response: Vec<Vec<u8>>,
}

/// Serves invocations from the Runtime API at `api` (`host:port`) until it goes away:
/// `init` runs once (its error is reported as the function's init error), then
/// `handler` once per invocation, reading the request body as it arrives and writing
/// the response into [`Buffers::response`].
///
/// A handler error fails that invocation as `Runtime.DeserializationError` (the body
/// is not the request the function takes); a panic fails it as `Runtime.Panic`
/// instead of ending the runtime, so Firehose retries the batch. An error talking to
/// the Runtime API, reading the body included, ends the runtime (Lambda starts a new
/// one).
pub fn serve<S, E: Display>(
    api: &str,
    init: impl FnOnce() -> Result<S, String>,
    handler: impl Fn(&S, &mut Body<'_>, &mut Buffers) -> Result<(), E>,
) -> io::Result<()> {
    let mut connection = Connection::new(api);
    let state = match init() {
        Ok(state) => state,
        Err(message) => {
            // Lambda shows this as the function's init error.
            let path = format!("{API}/init/error");
            connection.post_error(&path, None, "Runtime.InitError", &message)?;
            return Err(io::Error::other(message));
        }
    };
    let mut buffers = Buffers::default();
    // A body without a length (chunked), read whole before the handler sees it.
    let mut spill = Vec::new();
    loop {
        let (invocation, head) = connection.next()?;
        let span = tracing::info_span!("Lambda runtime invoke", requestId = %invocation.request_id);
        let outcome = {
            let mut body = match head.length {
                Some(length) if !head.chunked => {
                    Body::new(Source::Connection(&mut connection, head.close), length)
                }
                _ => {
                    connection.read_body(&head, &mut spill)?;
                    Body::new(Source::Memory(&spill), spill.len())
                }
            };
            let outcome = span.in_scope(|| {
                catch_unwind(AssertUnwindSafe(|| {
                    handler(&state, &mut body, &mut buffers)
                }))
            });
            body.finish()?;
            outcome
        };
        let base = format!("{API}/invocation/{}", invocation.request_id);
        let id = invocation.invocation_id.as_deref();
        match outcome {
            Ok(Ok(())) => {
                let parts: Vec<&[u8]> = buffers.response.iter().map(Vec::as_slice).collect();
                connection.post(&format!("{base}/response"), id, &[], &parts)?;
            }
            Ok(Err(e)) => {
                let message = format!("not a Firehose transformation request: {e}");
                tracing::error!(%message, "invocation failed");
                let path = format!("{base}/error");
                connection.post_error(&path, id, "Runtime.DeserializationError", &message)?;
            }
            Err(_) => {
                let path = format!("{base}/error");
                connection.post_error(&path, id, "Runtime.Panic", "the transform panicked")?;
            }
        }
    }
}

/// An invocation's request body, read as it arrives: [`Body::len`] bytes in all.
pub struct Body<'c> {
    source: Source<'c>,
    remaining: usize,
    length: usize,
    /// Why reading failed: the connection is no longer usable.
    failed: Option<(io::ErrorKind, String)>,
}

/// Where a body's bytes come from.
enum Source<'c> {
    /// The connection, which is closed after the body when the server said so.
    Connection(&'c mut Connection, bool),
    /// A body read whole beforehand.
    Memory(&'c [u8]),
}

impl<'c> Body<'c> {
    fn new(source: Source<'c>, length: usize) -> Body<'c> {
        Body {
            source,
            remaining: length,
            length,
            failed: None,
        }
    }

    /// The length of the whole body.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Reads what the handler left, so the connection is ready for the reply; an
    /// error if the body could not be read (the runtime then ends).
    fn finish(&mut self) -> io::Result<()> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(
                *kind,
                format!("reading an invocation: {message}"),
            ));
        }
        io::copy(self, &mut io::sink())?;
        if let Source::Connection(connection, true) = &mut self.source {
            connection.stream = None;
        }
        Ok(())
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.remaining);
        if want == 0 {
            return Ok(0);
        }
        let read = match &mut self.source {
            Source::Connection(connection, _) => connection.read_some(&mut buf[..want]),
            Source::Memory(bytes) => bytes.read(&mut buf[..want]),
        };
        let error = match read {
            Ok(0) => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the Runtime API closed the connection inside a body",
            ),
            Ok(n) => {
                self.remaining -= n;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => e,
        };
        self.failed = Some((error.kind(), error.to_string()));
        Err(error)
    }
}

/// What an invocation's headers say.
struct Invocation {
    request_id: String,
    /// Echoed on the reply, so the Runtime API can reject a reply to an invocation
    /// that timed out.
    invocation_id: Option<String>,
}

/// The head of an HTTP response: what this client acts on.
#[derive(Debug, Default)]
struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    close: bool,
    request_id: Option<String>,
    invocation_id: Option<String>,
}

/// One keep-alive connection to the Runtime API, opened on first use and again after
/// the server closes it.
struct Connection {
    address: String,
    stream: Option<TcpStream>,
    /// Bytes read from the socket and not yet used: `inbox[used..]`.
    inbox: Vec<u8>,
    used: usize,
}

impl Connection {
    fn new(address: &str) -> Connection {
        Connection {
            address: address.to_owned(),
            stream: None,
            inbox: Vec::with_capacity(16 * 1024),
            used: 0,
        }
    }

    /// The connection, opened if there is none.
    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.address).map_err(|e| {
                io::Error::new(e.kind(), format!("Runtime API at {}: {e}", self.address))
            })?;
            // Requests go out whole in one write; Nagle would only delay the next.
            stream.set_nodelay(true)?;
            self.inbox.clear();
            self.used = 0;
            self.stream = Some(stream);
        }
        open(&mut self.stream)
    }

    /// Waits for the next invocation: its ids and the head of its body, which is
    /// left to read. A connection the server closed while idle is opened again once.
    fn next(&mut self) -> io::Result<(Invocation, Head)> {
        let request = format!(
            "GET {API}/invocation/next HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.address
        );
        let reused = self.stream.is_some();
        let head = match self.exchange(request.as_bytes(), &[]) {
            Err(e) if reused && e.kind() != io::ErrorKind::InvalidData => {
                self.stream = None;
                self.exchange(request.as_bytes(), &[])?
            }
            head => head?,
        };
        if head.status != 200 {
            let mut body = Vec::new();
            self.read_body(&head, &mut body)?;
            return Err(protocol(format!(
                "the Runtime API answered {} to the next invocation: {}",
                head.status,
                String::from_utf8_lossy(&body[..body.len().min(500)])
            )));
        }
        let request_id = head.request_id.clone().ok_or_else(|| {
            protocol("the Runtime API sent an invocation without a request id".into())
        })?;
        // It goes into the reply's path.
        let path_safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if request_id.is_empty() || !request_id.chars().all(path_safe) {
            return Err(protocol(format!(
                "a request id unfit for a path: {request_id:?}"
            )));
        }
        let invocation = Invocation {
            request_id,
            invocation_id: head.invocation_id.clone(),
        };
        Ok((invocation, head))
    }

    /// Posts `parts` as one body with its exact `Content-Length` (the Runtime API
    /// takes no chunked body unless the function streams) and reads the answer;
    /// `invocation_id` is the invocation's, echoed.
    fn post(
        &mut self,
        path: &str,
        invocation_id: Option<&str>,
        headers: &[(&str, &str)],
        parts: &[&[u8]],
    ) -> io::Result<()> {
        let length: usize = parts.iter().map(|p| p.len()).sum();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {length}\r\n",
            self.address
        );
        if let Some(id) = invocation_id {
            head.push_str(&format!("Lambda-Runtime-Invocation-Id: {id}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let answer = self.exchange(head.as_bytes(), parts)?;
        let mut text = Vec::new();
        self.read_body(&answer, &mut text)?;
        if !(200..300).contains(&answer.status) {
            // Not fatal: the invocation is over either way (a response over Lambda's
            // size limit is refused with 413, and Lambda reports the invocation failed).
            tracing::error!(
                status = answer.status,
                answer = %String::from_utf8_lossy(&text[..text.len().min(500)]),
                "the Runtime API refused a reply"
            );
        }
        Ok(())
    }

    /// Posts the Runtime API's error document.
    fn post_error(
        &mut self,
        path: &str,
        invocation_id: Option<&str>,
        error_type: &str,
        message: &str,
    ) -> io::Result<()> {
        let document = serde_json::to_vec(&serde_json::json!({
            "errorType": error_type,
            "errorMessage": message,
        }))
        .map_err(io::Error::other)?;
        let headers = [
            ("Content-Type", "application/vnd.aws.lambda.error+json"),
            ("Lambda-Runtime-Function-Error-Type", error_type),
        ];
        self.post(path, invocation_id, &headers, &[&document])
    }

    /// Sends one request (its head, then `body` in one vectored write) and reads the
    /// head of the answer.
    fn exchange(&mut self, head: &[u8], body: &[&[u8]]) -> io::Result<Head> {
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(body.len() + 1);
        slices.push(IoSlice::new(head));
        slices.extend(
            body.iter()
                .filter(|p| !p.is_empty())
                .map(|p| IoSlice::new(p)),
        );
        let stream = self.stream()?;
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match stream.write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut slices, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.read_head()
    }

    /// Reads and parses a response head.
    fn read_head(&mut self) -> io::Result<Head> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.inbox[self.used..]) {
                Ok(httparse::Status::Complete(size)) => {
                    let head = Head::from(&response)?;
                    self.used += size;
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) if self.inbox.len() - self.used < MAX_HEAD => {}
                Ok(httparse::Status::Partial) => {
                    return Err(protocol("the Runtime API sent an endless head".into()));
                }
                Err(e) => return Err(protocol(format!("the Runtime API's answer: {e}"))),
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the Runtime API closed the connection",
                ));
            }
        }
    }

    /// Reads more bytes into the inbox; how many (0 at the end of the stream).
    fn fill(&mut self) -> io::Result<usize> {
        if self.used == self.inbox.len() {
            self.inbox.clear();
            self.used = 0;
        }
        let start = self.inbox.len();
        self.inbox.resize(start + 16 * 1024, 0);
        let stream = open(&mut self.stream)?;
        let read = loop {
            match stream.read(&mut self.inbox[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                read => break read,
            }
        };
        self.inbox.truncate(start + *read.as_ref().unwrap_or(&0));
        // A server that writes an answer in two parts with Nagle on (Python's
        // http.server: the head, then the body) holds the second until the first is
        // acknowledged, and Linux delays that acknowledgement by 40 ms: acknowledge
        // what was read now.
        #[cfg(target_os = "linux")]
        socket2::SockRef::from(&*stream).set_tcp_quickack(true)?;
        read
    }

    /// Reads some bytes into `out`: from the inbox while it holds any, then straight
    /// from the socket.
    fn read_some(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buffered = self.inbox.len() - self.used;
        if buffered == 0 {
            return open(&mut self.stream)?.read(out);
        }
        let n = buffered.min(out.len());
        out[..n].copy_from_slice(&self.inbox[self.used..self.used + n]);
        self.used += n;
        Ok(n)
    }

    /// A line of a chunked body (without its CRLF).
    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            let pending = &self.inbox[self.used..];
            if let Some(end) = pending.windows(2).position(|w| w == b"\r\n") {
                let line = pending[..end].to_vec();
                self.used += end + 2;
                return Ok(line);
            }
            if pending.len() > MAX_HEAD {
                return Err(protocol("a chunk header without its end".into()));
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads the body `head` announces into `body`, replacing its content. When the
    /// length is known, bytes past the last body's end are left as they are until
    /// overwritten, so a buffer as large as the body is never zeroed again.
    fn read_body(&mut self, head: &Head, body: &mut Vec<u8>) -> io::Result<()> {
        let too_large = || protocol(format!("a body of more than {MAX_BODY} bytes"));
        if head.chunked {
            body.clear();
            loop {
                let line = self.read_line()?;
                let size = line.split(|&b| b == b';').next().unwrap_or_default();
                let size = std::str::from_utf8(size)
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                    .ok_or_else(|| protocol("a chunk size that is not hexadecimal".into()))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !self.read_line()?.is_empty() {}
                    break;
                }
                let start = body.len();
                if size > MAX_BODY - start {
                    return Err(too_large());
                }
                body.resize(start + size, 0);
                self.read_exact(&mut body[start..])?;
                if !self.read_line()?.is_empty() {
                    return Err(protocol("a chunk longer than its size".into()));
                }
            }
        } else if let Some(length) = head.length {
            if length > MAX_BODY {
                return Err(too_large());
            }
            body.resize(length, 0);
            self.read_exact(body)?;
        } else {
            // No length: the body runs to the end of the connection.
            body.clear();
            body.extend_from_slice(&self.inbox[self.used..]);
            self.used = self.inbox.len();
            let stream = open(&mut self.stream)?;
            stream.take((MAX_BODY + 1) as u64).read_to_end(body)?;
            self.stream = None;
            if body.len() > MAX_BODY {
                return Err(too_large());
            }
        }
        if head.close {
            self.stream = None;
        }
        Ok(())
    }
}

/// The connection's bytes after the last head read: what `read_exact` fills a body from.
impl Read for Connection {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.read_some(out)
    }
}

impl Head {
    fn from(response: &httparse::Response<'_, '_>) -> io::Result<Head> {
        let mut head = Head {
            status: response.code.unwrap_or_default(),
            ..Head::default()
        };
        for header in response.headers.iter() {
            let value = || String::from_utf8_lossy(header.value).trim().to_owned();
            let name = header.name;
            if name.eq_ignore_ascii_case("content-length") {
                let length = value()
                    .parse()
                    .map_err(|_| protocol(format!("Content-Length {:?}", value())))?;
                head.length = Some(length);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                head.chunked = value().to_ascii_lowercase().ends_with("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                head.close = value().eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                head.request_id = Some(value());
            } else if name.eq_ignore_ascii_case("lambda-runtime-invocation-id") {
                head.invocation_id = Some(value());
            }
        }
        Ok(head)
    }
}

/// The connection a request was just written to.
fn open(stream: &mut Option<TcpStream>) -> io::Result<&mut TcpStream> {
    stream
        .as_mut()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no connection"))
}

/// An answer this client cannot read.
fn protocol(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
