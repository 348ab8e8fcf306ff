//! The fake CodePipeline's HTTP side: AWS JSON 1.1 over HTTP/1.1 keep-alive on
//! 127.0.0.1, the four read operations `cplogs backfill` uses with AWS's paging and
//! errors, and faults injected on demand (throttling, 500s, denied regions, latency).
//!
//! One cohesive thing (over 400 lines): the HTTP server, the operations and the faults.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::history::{History, Id, Pipeline, newest_first};

/// The `X-Amz-Target` prefix of CodePipeline's operations.
const TARGET_PREFIX: &str = "CodePipeline_20150709.";

/// What the fake answers; anything else is an `UnknownOperationException`.
const OPERATIONS: [&str; 4] = [
    "ListPipelines",
    "ListPipelineExecutions",
    "ListActionExecutions",
    "GetPipelineExecution",
];

/// Requests larger than this are refused (the SDK's are a few hundred bytes).
const MAX_BODY: usize = 1 << 20;
const MAX_HEAD: usize = 64 << 10;

/// Faults injected so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// `ThrottlingException` answers.
    pub throttled: u64,
    /// HTTP 500 `InternalFailure` answers.
    pub internal: u64,
    /// `AccessDeniedException` answers for a denied region.
    pub denied: u64,
}

/// The switches and counters tests turn and read while the server runs.
#[derive(Default)]
struct State {
    throttle_once: bool,
    fail_once: bool,
    denied_regions: HashSet<String>,
    latency: Duration,
    /// Calls (hashes of region, operation and body) already throttled or failed once.
    throttled_calls: HashSet<u64>,
    failed_calls: HashSet<u64>,
    faults: Faults,
    answered: BTreeMap<String, u64>,
}

/// What the listener and connection threads share with the handle.
struct Shared {
    history: RwLock<Arc<History>>,
    state: Mutex<State>,
    stop: AtomicBool,
    /// Open connections, to shut down on drop (an idle keep-alive connection would
    /// otherwise keep its thread blocked in a read).
    connections: Mutex<HashMap<u64, TcpStream>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Keys the page tokens' checksums, so a token the fake did not issue is refused.
    secret: u64,
    requests: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later assertion down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A local CodePipeline that serves a [`History`] until dropped.
pub struct FakeCodePipeline {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
}

impl FakeCodePipeline {
    /// Binds 127.0.0.1 on a free port and serves `history` from a thread.
    pub fn start(history: History) -> FakeCodePipeline {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        // Polled rather than blocking, so that drop can stop it without a wake-up call.
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = Arc::new(Shared {
            history: RwLock::new(Arc::new(history)),
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
            secret: RandomState::new().build_hasher().finish(),
            requests: AtomicU64::new(0),
        });
        let for_thread = shared.clone();
        let handle = std::thread::Builder::new()
            .name("fake-codepipeline".into())
            .spawn(move || accept_loop(&listener, &for_thread))
            .expect("spawn the listener thread");
        FakeCodePipeline {
            addr,
            shared,
            listener: Some(handle),
        }
    }

    /// The endpoint URL for the SDK's `endpoint_url`: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves `history` from the next request on (page tokens stay valid: they name
    /// a position in the listing order, not an offset).
    pub fn set_history(&self, history: History) {
        *self
            .shared
            .history
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(history);
    }

    /// Throttles every distinct call once (a call: region, operation and request
    /// body; the SDK's retry sends the same body and is answered).
    pub fn throttle_each_call_once(&self, on: bool) {
        self.shared.state().throttle_once = on;
    }

    /// Answers every distinct call once with HTTP 500 `InternalFailure` (after the
    /// throttling, when both are on).
    pub fn fail_each_call_once(&self, on: bool) {
        self.shared.state().fail_once = on;
    }

    /// Answers every call signed for `region` with `AccessDeniedException`.
    pub fn deny_region(&self, region: &str) {
        self.shared.state().denied_regions.insert(region.to_owned());
    }

    /// Undoes [`FakeCodePipeline::deny_region`].
    pub fn allow_region(&self, region: &str) {
        self.shared.state().denied_regions.remove(region);
    }

    /// Waits this long before answering each request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }

    /// Requests of `operation` answered with success so far.
    pub fn requests(&self, operation: &str) -> u64 {
        self.shared
            .state()
            .answered
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests answered with success so far, all operations.
    pub fn requests_total(&self) -> u64 {
        self.shared.state().answered.values().sum()
    }

    /// Faults injected so far.
    pub fn faults(&self) -> Faults {
        self.shared.state().faults
    }
}

impl Drop for FakeCodePipeline {
    fn drop(&mut self) {
        self.shared.stop.store(true, AtomicOrdering::SeqCst);
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
        // The listener has stopped, so every connection is registered by now.
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for stream in connections.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut next_id = 0u64;
    while !shared.stop.load(AtomicOrdering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(_) => continue,
        };
        // Accepted sockets may inherit the listener's non-blocking mode; small
        // answers on a keep-alive connection must not wait for Nagle.
        if stream.set_nonblocking(false).is_err() || stream.set_nodelay(true).is_err() {
            continue;
        }
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        next_id += 1;
        let id = next_id;
        lock(&shared.connections).insert(id, registered);
        let for_thread = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("fake-codepipeline-conn".into())
            .spawn(move || {
                serve(&for_thread, stream);
                lock(&for_thread.connections).remove(&id);
            });
        let mut workers = lock(&shared.workers);
        workers.retain(|w| !w.is_finished());
        if let Ok(worker) = spawned {
            workers.push(worker);
        }
    }
}

/// One HTTP request, as far as the fake cares.
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether the client wants the connection closed after the answer.
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request; `Ok(None)` when the client closed the connection between
/// requests, `Err` for what is not HTTP/1.1 with a Content-Length body.
fn read_request(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
) -> Result<Option<Request>, String> {
    let mut line = String::new();
    // Tolerates blank lines before a request, as RFC 9112 asks.
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) if line.trim().is_empty() => {}
            Ok(_) => break,
        }
    }
    let version = line
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    if !version.starts_with("HTTP/1.") {
        return Err(format!(
            "not an HTTP/1.x request line: {:?}",
            line.trim_end()
        ));
    }
    let mut headers = Vec::new();
    let mut head = line.len();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        head += n;
        if n == 0 || head > MAX_HEAD {
            return Err("truncated or oversized request head".into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (name, value) = l
            .split_once(':')
            .ok_or_else(|| format!("not a header line: {l:?}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        headers,
        body: Vec::new(),
        close: false,
    };
    if request.header("transfer-encoding").is_some() {
        return Err("only Content-Length bodies are supported".into());
    }
    let connection = request
        .header("connection")
        .unwrap_or_default()
        .to_ascii_lowercase();
    request.close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_BODY)
            .ok_or_else(|| format!("bad Content-Length {v:?}"))?,
    };
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|e| e.to_string())?;
    }
    request.body = vec![0; length];
    reader
        .read_exact(&mut request.body)
        .map_err(|e| e.to_string())?;
    Ok(Some(request))
}

/// Answers requests on one connection until the client closes it or the fake stops.
fn serve(shared: &Shared, stream: TcpStream) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(message) => {
                let body = error_body("SerializationException", &message);
                let _ = write_response(&mut writer, 400, &body, shared, true);
                return;
            }
        };
        let latency = shared.state().latency;
        let until = Instant::now() + latency;
        // In small steps, so that dropping the fake does not wait out a long latency.
        while Instant::now() < until {
            if shared.stop.load(AtomicOrdering::SeqCst) {
                return;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(5)));
        }
        let (status, body) = handle(shared, &request);
        if write_response(&mut writer, status, &body, shared, request.close).is_err()
            || request.close
        {
            return;
        }
    }
}

fn write_response(
    w: &mut TcpStream,
    status: u16,
    body: &[u8],
    shared: &Shared,
    close: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Internal Server Error",
    };
    let n = shared.requests.fetch_add(1, AtomicOrdering::Relaxed);
    let request_id = format!(
        "{:08x}-0000-4000-8000-{n:012x}",
        shared.secret & 0xffff_ffff
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         x-amzn-RequestId: {request_id}\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    // One write per answer: the client reads it in one go.
    w.write_all(&out)?;
    w.flush()
}

/// An error answer: its `__type` and message.
struct ApiError {
    code: &'static str,
    message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

fn error_body(code: &str, message: &str) -> Vec<u8> {
    json!({ "__type": code, "message": message })
        .to_string()
        .into_bytes()
}

/// The region in the SigV4 credential scope: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
fn signing_region(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let region = parts.nth(2)?;
    (!region.is_empty()).then_some(region)
}

/// Answers one request: (HTTP status, body).
fn handle(shared: &Shared, request: &Request) -> (u16, Vec<u8>) {
    let target = request.header("x-amz-target").unwrap_or_default();
    let Some(op) = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(|op| OPERATIONS.iter().find(|&&known| known == op))
    else {
        let body = error_body(
            "UnknownOperationException",
            &format!("Unknown operation {target:?}"),
        );
        return (400, body);
    };
    let Some(region) = request.header("authorization").and_then(signing_region) else {
        let body = error_body(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
        return (400, body);
    };
    {
        let mut state = shared.state();
        if state.denied_regions.contains(region) {
            state.faults.denied += 1;
            let message = format!(
                "User: arn:aws:sts::000000000000:assumed-role/testing is not authorized to \
                 perform: codepipeline:{op} in region {region}"
            );
            return (400, error_body("AccessDeniedException", &message));
        }
        let mut h = DefaultHasher::new();
        (region, op, &request.body).hash(&mut h);
        let call = h.finish();
        if state.throttle_once && state.throttled_calls.insert(call) {
            state.faults.throttled += 1;
            return (400, error_body("ThrottlingException", "Rate exceeded"));
        }
        if state.fail_once && state.failed_calls.insert(call) {
            state.faults.internal += 1;
            return (500, br#"{"__type":"InternalFailure"}"#.to_vec());
        }
    }
    let input: Value = match serde_json::from_slice(&request.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let body = error_body("SerializationException", "The body is not a JSON object");
            return (400, body);
        }
    };
    let history = shared
        .history
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let api = Api {
        history: &history,
        secret: shared.secret,
        region,
        op,
    };
    let result = match *op {
        "ListPipelines" => api.list_pipelines(&input),
        "ListPipelineExecutions" => api.list_pipeline_executions(&input),
        "ListActionExecutions" => api.list_action_executions(&input),
        _ => api.get_pipeline_execution(&input),
    };
    match result {
        Ok(v) => {
            *shared.state().answered.entry((*op).to_owned()).or_default() += 1;
            (200, v.to_string().into_bytes())
        }
        Err(e) => (400, error_body(e.code, &e.message)),
    }
}

/// One request's view: the history, and what its page tokens are bound to.
struct Api<'a> {
    history: &'a History,
    secret: u64,
    region: &'a str,
    op: &'a str,
}

/// A position in a newest-first listing: the last item returned.
struct Cursor {
    start_ms: i64,
    id: Id,
}

impl Api<'_> {
    fn max_results(&self, input: &Value, max: i64) -> Result<usize, ApiError> {
        match input.get("maxResults") {
            None | Some(Value::Null) => Ok(max.min(100) as usize),
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=max).contains(n))
                .map(|n| n as usize)
                .ok_or_else(|| {
                    err(
                        "ValidationException",
                        format!(
                            "1 validation error detected: Value '{v}' at 'maxResults' failed \
                             to satisfy constraint: Member must have value between 1 and {max}"
                        ),
                    )
                }),
        }
    }

    fn string<'v>(&self, input: &'v Value, name: &str) -> Result<Option<&'v str>, ApiError> {
        match input.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(err(
                "SerializationException",
                format!("{name} must be a string"),
            )),
        }
    }

    fn required<'v>(&self, input: &'v Value, name: &str) -> Result<&'v str, ApiError> {
        self.string(input, name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                err(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value null at '{name}' failed to satisfy \
                     constraint: Member must not be null"
                    ),
                )
            })
    }

    fn pipeline(&self, name: &str) -> Result<&Pipeline, ApiError> {
        self.history.pipeline(self.region, name).ok_or_else(|| {
            err(
                "PipelineNotFoundException",
                format!(
                    "Account '{}' does not have a pipeline with name '{name}'",
                    self.history.account()
                ),
            )
        })
    }

    fn mac(&self, scope: &str, payload: &str) -> u64 {
        let mut h = DefaultHasher::new();
        (self.secret, self.region, self.op, scope, payload).hash(&mut h);
        h.finish()
    }

    /// A page token: the position, hex-encoded, and a checksum binding it to this
    /// operation, region and `scope` (pipeline and filter).
    fn token(&self, scope: &str, payload: &str) -> String {
        let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{hex}.{:016x}", self.mac(scope, payload))
    }

    /// The position a token names, if this fake issued it for the same listing.
    fn untoken(&self, scope: &str, input: &Value) -> Result<Option<String>, ApiError> {
        let Some(token) = self.string(input, "nextToken")? else {
            return Ok(None);
        };
        let invalid = || err("InvalidNextTokenException", "The next token is not valid");
        let (hex, mac) = token.split_once('.').ok_or_else(invalid)?;
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect();
        let payload = bytes
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(invalid)?;
        if format!("{:016x}", self.mac(scope, &payload)) != mac {
            return Err(invalid());
        }
        Ok(Some(payload))
    }

    fn cursor(&self, scope: &str, input: &Value) -> Result<Option<Cursor>, ApiError> {
        let Some(payload) = self.untoken(scope, input)? else {
            return Ok(None);
        };
        let (start, id) = payload
            .split_once(':')
            .ok_or_else(|| err("InvalidNextTokenException", "The next token is not valid"))?;
        let start_ms = start
            .parse()
            .map_err(|_| err("InvalidNextTokenException", "The next token is not valid"))?;
        Ok(Some(Cursor {
            start_ms,
            id: Id::new(id),
        }))
    }

    fn cursor_token(&self, scope: &str, start_ms: i64, id: &Id) -> String {
        self.token(scope, &format!("{start_ms}:{id}"))
    }

    fn list_pipelines(&self, input: &Value) -> Result<Value, ApiError> {
        let n = self.max_results(input, 1000)?;
        let after = self.untoken("", input)?;
        let all = self.history.region_pipelines(self.region);
        let from = after.map_or(0, |name| {
            all.partition_point(|p| self.history.name(p) <= name.as_str())
        });
        let page = &all[from..(from + n).min(all.len())];
        let mut out = json!({
            "pipelines": page.iter().map(|p| self.history.pipeline_json(p)).collect::<Vec<_>>(),
        });
        if from + n < all.len()
            && let Some(last) = page.last()
        {
            out["nextToken"] = json!(self.token("", self.history.name(last)));
        }
        Ok(out)
    }

    fn list_pipeline_executions(&self, input: &Value) -> Result<Value, ApiError> {
        let name = self.required(input, "pipelineName")?;
        let n = self.max_results(input, 100)?;
        let p = self.pipeline(name)?;
        let cursor = self.cursor(name, input)?;
        let all = &p.executions;
        let from = cursor.map_or(0, |c| {
            all.partition_point(|e| newest_first(e.start_ms, &e.id, c.start_ms, &c.id).is_le())
        });
        let page = &all[from..(from + n).min(all.len())];
        let mut out = json!({
            "pipelineExecutionSummaries":
                page.iter().map(|e| self.history.summary_json(e)).collect::<Vec<_>>(),
        });
        if from + n < all.len()
            && let Some(last) = page.last()
        {
            out["nextToken"] = json!(self.cursor_token(name, last.start_ms, &last.id));
        }
        Ok(out)
    }

    fn list_action_executions(&self, input: &Value) -> Result<Value, ApiError> {
        let name = self.required(input, "pipelineName")?;
        let n = self.max_results(input, 100)?;
        let p = self.pipeline(name)?;
        let filter = match input.get("filter") {
            None | Some(Value::Null) => None,
            Some(f @ Value::Object(_)) => self.string(f, "pipelineExecutionId")?,
            Some(_) => return Err(err("SerializationException", "filter must be an object")),
        };
        // The filtered execution's action executions (indices, newest first), or all.
        let only: Option<&[u32]> = match filter {
            None => None,
            Some(id) => {
                let e = p.find(&Id::new(id)).ok_or_else(|| {
                    err(
                        "PipelineExecutionNotFoundException",
                        format!("Pipeline execution {id} does not exist in pipeline {name}"),
                    )
                })?;
                Some(&p.executions[e].actions)
            }
        };
        let len = only.map_or(p.actions.len(), <[u32]>::len);
        let at = |k: usize| &p.actions[only.map_or(k, |only| only[k] as usize)];
        let scope = format!("{name}\n{}", filter.unwrap_or_default());
        let cursor = self.cursor(&scope, input)?;
        let from = cursor.map_or(0, |c| {
            partition_point(len, |k| {
                let a = at(k);
                newest_first(a.start_ms, &a.id, c.start_ms, &c.id).is_le()
            })
        });
        let end = (from + n).min(len);
        let mut out = json!({
            "actionExecutionDetails": (from..end)
                .map(|k| self.history.action_json(p, at(k)))
                .collect::<Vec<_>>(),
        });
        if end < len && end > from {
            let a = at(end - 1);
            out["nextToken"] = json!(self.cursor_token(&scope, a.start_ms, &a.id));
        }
        Ok(out)
    }

    fn get_pipeline_execution(&self, input: &Value) -> Result<Value, ApiError> {
        let name = self.required(input, "pipelineName")?;
        let id = self.required(input, "pipelineExecutionId")?;
        let p = self.pipeline(name)?;
        let e = p.find(&Id::new(id)).ok_or_else(|| {
            err(
                "PipelineExecutionNotFoundException",
                format!("Pipeline execution {id} does not exist in pipeline {name}"),
            )
        })?;
        Ok(json!({ "pipelineExecution": self.history.execution_json(p, &p.executions[e]) }))
    }
}

/// The first index in `0..len` for which `before` is false (it must be true, then
/// false, along the range): `slice::partition_point` for indexed views.
fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
