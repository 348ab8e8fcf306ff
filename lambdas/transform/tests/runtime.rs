//! The Runtime API loop (`cplogs_transform::runtime::serve`) against a small Runtime
//! API on 127.0.0.1: a batch comes back as `transform_batch` writes it, with a
//! `Content-Length` (the Runtime API takes no chunked body), for its request id; a
//! body that is not a Firehose request fails only that invocation.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use cplogs::Table;
use cplogs_transform::{runtime, transform_batch, transform_batch_parts};

/// One HTTP request as the fake Runtime API saw it.
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let mut seen = Seen {
        line: line.trim_end().to_owned(),
        headers,
        body: Vec::new(),
    };
    let length: usize = seen
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    seen.body = vec![0; length];
    reader.read_exact(&mut seen.body).ok()?;
    Some(seen)
}

/// Serves `bodies` as invocations `r0`, `r1`, … and sends every POST it receives.
fn fake_runtime_api(bodies: Vec<Vec<u8>>, posts: mpsc::Sender<Seen>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut next = bodies.into_iter().enumerate();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            while let Some(seen) = read_request(&mut reader) {
                if seen
                    .line
                    .starts_with("GET /2018-06-01/runtime/invocation/next")
                {
                    let Some((i, body)) = next.next() else {
                        // No more work: a real Runtime API blocks here too.
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Lambda-Runtime-Aws-Request-Id: r{i}\r\n\
                         Lambda-Runtime-Deadline-Ms: 9999999999999\r\n\
                         Content-Length: {}\r\n\r\n",
                        body.len()
                    );
                    writer.write_all(head.as_bytes()).unwrap();
                    writer.write_all(&body).unwrap();
                } else {
                    writer
                        .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                    if posts.send(seen).is_err() {
                        return;
                    }
                }
            }
        }
    });
    address
}

#[test]
fn batches_are_posted_whole_with_their_length_and_bad_ones_fail_alone() {
    let event = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/events/action_started.json"),
    )
    .unwrap();
    let data = base64_simd::STANDARD.encode_to_string(&event);
    let records: Vec<String> = (0..300)
        .map(|i| format!(r#"{{"recordId":"{i}","approximateArrivalTimestamp":1,"data":"{data}"}}"#))
        .collect();
    let batch = format!(
        r#"{{"invocationId":"x","records":[{}]}}"#,
        records.join(",")
    )
    .into_bytes();
    let table = Table::from_name("action_execution_state_change").unwrap();
    // More records than one unit of parallel work: the response goes out in parts.
    assert!(transform_batch_parts(table, &batch).unwrap().len() > 3);

    let (tx, rx) = mpsc::channel();
    let address = fake_runtime_api(vec![batch.clone(), b"not json".to_vec()], tx);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = runtime.block_on(runtime::serve(
            &address,
            move || Ok(table),
            |table: &Table, body: &[u8]| transform_batch_parts(*table, body),
        ));
    });

    let ok = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a response");
    assert_eq!(
        ok.line,
        "POST /2018-06-01/runtime/invocation/r0/response HTTP/1.1"
    );
    assert_eq!(ok.header("transfer-encoding"), None);
    assert_eq!(
        ok.header("content-length"),
        Some(ok.body.len().to_string().as_str())
    );
    assert_eq!(ok.body, transform_batch(table, &batch).unwrap());

    let failed = rx.recv_timeout(Duration::from_secs(30)).expect("an error");
    assert_eq!(
        failed.line,
        "POST /2018-06-01/runtime/invocation/r1/error HTTP/1.1"
    );
    assert_eq!(
        failed.header("lambda-runtime-function-error-type"),
        Some("Runtime.DeserializationError")
    );
    let doc: serde_json::Value = serde_json::from_slice(&failed.body).unwrap();
    assert_eq!(doc["errorType"], "Runtime.DeserializationError");
}
