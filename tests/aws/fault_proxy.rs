//! Faults on the AWS side, end to end: the real `cplogs repair-partitions` talks to
//! moto's server (started by tests/run.sh) through a proxy on 127.0.0.1 that injects
//! throttling, 5xx answers and per-partition failures into Glue and S3 responses.
//! Throttling and server errors are retried; a partial BatchCreatePartition failure is
//! reported partition by partition (exit 1), and a second run adds exactly the rest.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cplogs::Table;
use cplogs::core::layout::Dt;
use serde_json::{Value, json};

use crate::common::cli::cplogs_aws;
use crate::common::moto::{self, endpoint, unique};

/// An answer the proxy gives instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Glue's (JSON 1.1) throttling error.
    Throttle,
    /// An HTTP 500 internal error.
    ServerError,
    /// S3's 503 SlowDown.
    SlowDown,
}

/// What the proxy does: faults to answer per operation, in order, and the `dt`
/// values whose BatchCreatePartition items it turns into per-item failures.
#[derive(Debug, Default)]
struct Plan {
    faults: BTreeMap<String, VecDeque<Fault>>,
    fail_items: Vec<String>,
    injected: usize,
    requests: BTreeMap<String, usize>,
}

type Shared = Arc<Mutex<Plan>>;

/// One HTTP/1.1 request or response: the first line, headers, body.
struct Message {
    first: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads one message; `to_eof` reads a body without a length to the end.
    fn read(r: &mut impl BufRead, to_eof: bool) -> Option<Message> {
        let mut first = String::new();
        if r.read_line(&mut first).ok()? == 0 {
            return None;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':')?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let mut m = Message {
            first: first.trim_end().to_owned(),
            headers,
            body: Vec::new(),
        };
        if let Some(n) = m
            .header("content-length")
            .and_then(|n| n.parse::<usize>().ok())
        {
            m.body = vec![0; n];
            r.read_exact(&mut m.body).ok()?;
        } else if to_eof {
            r.read_to_end(&mut m.body).ok()?;
        }
        Some(m)
    }

    /// Writes it with the right length and `Connection: close` (one exchange each).
    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        write!(w, "{}\r\n", self.first)?;
        for (k, v) in &self.headers {
            let skip = ["content-length", "connection", "transfer-encoding"];
            if !skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                write!(w, "{k}: {v}\r\n")?;
            }
        }
        write!(
            w,
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        )?;
        w.write_all(&self.body)?;
        w.flush()
    }
}

fn operation(req: &Message) -> String {
    match req.header("x-amz-target") {
        Some(t) => t.rsplit('.').next().unwrap_or(t).to_owned(),
        None if req.first.contains("list-type=2") => "ListObjectsV2".into(),
        None => req.first.split(' ').next().unwrap_or_default().to_owned(),
    }
}

fn injected(fault: Fault) -> Message {
    let (first, ty, body) = match fault {
        Fault::Throttle => (
            "HTTP/1.1 400 Bad Request",
            "application/x-amz-json-1.1",
            json!({"__type": "ThrottlingException", "message": "Rate exceeded (injected)"})
                .to_string(),
        ),
        Fault::ServerError => (
            "HTTP/1.1 500 Internal Server Error",
            "application/x-amz-json-1.1",
            json!({"__type": "InternalServiceException", "message": "injected"}).to_string(),
        ),
        Fault::SlowDown => (
            "HTTP/1.1 503 Slow Down",
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>\
             <Message>Please reduce your request rate. (injected)</Message></Error>"
                .to_owned(),
        ),
    };
    let mut headers = vec![("Content-Type".to_owned(), ty.to_owned())];
    if fault == Fault::Throttle {
        headers.push(("x-amzn-ErrorType".into(), "ThrottlingException".into()));
    }
    Message {
        first: first.into(),
        headers,
        body: body.into_bytes(),
    }
}

fn forward(req: &Message, upstream: &str) -> Message {
    let mut up = TcpStream::connect(upstream).expect("moto is reachable");
    req.write(&mut up).unwrap();
    Message::read(&mut BufReader::new(up), true).expect("moto answers")
}

/// BatchCreatePartition with the planned items taken out before moto sees them and
/// reported back as per-item AccessDeniedException failures.
fn partial_batch(req: &mut Message, plan: &Shared, upstream: &str) -> Message {
    let fail = plan.lock().unwrap().fail_items.clone();
    let mut input: Value = serde_json::from_slice(&req.body).unwrap();
    let mut failed = Vec::new();
    if let Some(list) = input["PartitionInputList"].as_array_mut() {
        list.retain(|p| {
            let dt = p["Values"][0].as_str().unwrap_or_default().to_owned();
            let keep = !fail.contains(&dt);
            if !keep {
                failed.push(dt);
            }
            keep
        });
    }
    req.body = input.to_string().into_bytes();
    let mut resp = forward(req, upstream);
    if !failed.is_empty() {
        let mut out: Value = serde_json::from_slice(&resp.body).unwrap_or(json!({}));
        let errors = out["Errors"].as_array().cloned().unwrap_or_default();
        let mut errors = errors;
        for dt in &failed {
            errors.push(json!({"PartitionValues": [dt], "ErrorDetail": {
                "ErrorCode": "AccessDeniedException",
                "ErrorMessage": "not authorized (injected)"}}));
        }
        out["Errors"] = Value::Array(errors);
        resp.body = out.to_string().into_bytes();
        plan.lock().unwrap().injected += failed.len();
    }
    resp
}

fn serve(client: TcpStream, plan: Shared, upstream: String) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let Some(mut req) = Message::read(&mut reader, false) else {
        return;
    };
    let op = operation(&req);
    let fault = {
        let mut p = plan.lock().unwrap();
        *p.requests.entry(op.clone()).or_default() += 1;
        let f = p.faults.get_mut(&op).and_then(VecDeque::pop_front);
        if f.is_some() {
            p.injected += 1;
        }
        f
    };
    let resp = match fault {
        Some(f) => injected(f),
        None if op == "BatchCreatePartition" => partial_batch(&mut req, &plan, &upstream),
        None => forward(&req, &upstream),
    };
    let mut w = client;
    let _ = resp.write(&mut w);
}

/// Starts the proxy in front of moto; it runs until the test process ends.
fn proxy(plan: Shared) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = endpoint().trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (plan, upstream) = (Arc::clone(&plan), upstream.clone());
            client.set_read_timeout(Some(Duration::from_secs(30))).ok();
            std::thread::spawn(move || serve(client, plan, upstream));
        }
    });
    format!("http://{addr}")
}

/// A bucket with objects under `days` days of every table, and the three tables.
async fn seed(days: i64) -> (String, String, aws_sdk_glue::Client, Vec<Dt>) {
    let bucket = unique("cplogs-faults");
    let database = unique("cplogs_faults").replace('-', "_");
    let (s3, glue) = moto::clients().await;
    moto::create_catalog(&s3, &glue, &bucket, &database).await;
    let dts = moto::days("2026-03-01", days);
    moto::put_files(&s3, &bucket, &Table::ALL, &dts).await;
    (bucket, database, glue, dts)
}

/// The days of the partitions of `table` in Glue, sorted.
async fn partitions(glue: &aws_sdk_glue::Client, database: &str, table: Table) -> Vec<String> {
    moto::partitions(glue, database, table)
        .await
        .into_keys()
        .collect()
}

fn repair(endpoint: &str, bucket: &str, database: &str) -> Output {
    cplogs_aws(
        endpoint,
        "us-east-1",
        &[
            "repair-partitions",
            "--bucket",
            bucket,
            "--database",
            database,
            "--format",
            "json",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried() {
    let (bucket, database, glue, dts) = seed(5).await;
    let plan = Shared::default();
    {
        let mut p = plan.lock().unwrap();
        use Fault::*;
        p.faults.insert(
            "BatchCreatePartition".into(),
            [Throttle, ServerError, Throttle].into(),
        );
        p.faults
            .insert("ListObjectsV2".into(), [SlowDown, ServerError].into());
        p.faults
            .insert("GetPartitions".into(), [Throttle, ServerError].into());
        p.faults.insert("GetTable".into(), [ServerError].into());
    }
    let endpoint = proxy(Arc::clone(&plan));
    let o = repair(&endpoint, &bucket, &database);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    {
        let p = plan.lock().unwrap();
        assert!(
            p.faults.values().all(VecDeque::is_empty),
            "unused faults: {p:?}"
        );
        assert_eq!(p.injected, 8);
    }
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    for t in report.as_array().unwrap() {
        assert_eq!(t["added"], 5, "{t}");
        assert_eq!(t["errors"].as_array().unwrap().len(), 0, "{t}");
    }
    let want: Vec<String> = dts.iter().map(Dt::to_string).collect();
    for t in Table::ALL {
        assert_eq!(partitions(&glue, &database, t).await, want, "{}", t.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_failure_is_reported_per_partition_and_a_second_run_adds_the_rest() {
    let (bucket, database, glue, dts) = seed(10).await;
    let failing = [dts[2].to_string(), dts[7].to_string()];
    let plan = Shared::default();
    plan.lock().unwrap().fail_items = failing.to_vec();
    let endpoint = proxy(Arc::clone(&plan));

    let o = repair(&endpoint, &bucket, &database);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    for t in report.as_array().unwrap() {
        assert_eq!(t["added"], 8, "{t}");
        let errors: Vec<&str> = t["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert_eq!(errors.len(), 2, "{t}");
        for (e, dt) in errors.iter().zip(&failing) {
            assert!(e.contains(dt) && e.contains("AccessDeniedException"), "{e}");
        }
        let table = t["table"].as_str().unwrap();
        for dt in &failing {
            assert!(err.contains(table) && err.contains(dt.as_str()), "{err}");
        }
    }
    assert_eq!(plan.lock().unwrap().injected, 6);
    for t in Table::ALL {
        assert_eq!(partitions(&glue, &database, t).await.len(), 8);
    }

    // The fault is gone: the next run adds exactly the two that failed.
    plan.lock().unwrap().fail_items.clear();
    let o = repair(&endpoint, &bucket, &database);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: Vec<String> = dts.iter().map(Dt::to_string).collect();
    for t in report.as_array().unwrap() {
        assert_eq!(t["added"], 2, "{t}");
    }
    for t in Table::ALL {
        assert_eq!(partitions(&glue, &database, t).await, want);
    }
}
