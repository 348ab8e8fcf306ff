//! The Runtime API loop (`cplogs_transform::runtime::serve`) against a small Runtime
//! API on 127.0.0.1: batches come back as `transform_batch` writes them, with a
//! `Content-Length` (the Runtime API takes no chunked body), for their request id,
//! whatever the sizes of the batches before them; a body that is not a Firehose
//! request, or a panic, fails only that invocation; an init error is reported as one;
//! chunked request bodies, closed connections and refused replies are survived.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use cplogs::Table;
use cplogs_transform::{runtime, transform_batch, transform_batch_into, transform_stream_into};

/// One HTTP request as the fake Runtime API saw it.
#[derive(Debug)]
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

    /// The `errorType` of an error document.
    fn error_type(&self) -> String {
        let doc: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        doc["errorType"].as_str().unwrap().to_owned()
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

/// How the fake Runtime API answers.
#[derive(Clone, Copy, Default)]
struct Manner {
    /// Invocation bodies in chunks of this size (`Transfer-Encoding: chunked`).
    chunked: Option<usize>,
    /// `Connection: close` on every answer, and the connection closed.
    close: bool,
    /// Replies to invocations refused with 413, as Lambda refuses one over its limit.
    refuse: bool,
    /// Invocation bodies announced 100 bytes longer than they are, and the
    /// connection closed after them.
    short: bool,
    /// Invocation bodies in one chunk announced as 256 TB.
    huge: bool,
    /// This request id for every invocation, instead of `r0`, `r1`, ….
    id: Option<&'static str>,
}

/// Serves `bodies` as invocations `r0`, `r1`, … and sends every POST it receives.
fn fake_runtime_api(bodies: Vec<Vec<u8>>, manner: Manner, posts: mpsc::Sender<Seen>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut next = bodies.into_iter().enumerate();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let close = if manner.close {
                "Connection: close\r\n"
            } else {
                ""
            };
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
                    let id = manner.id.map_or(format!("r{i}"), str::to_owned);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Lambda-Runtime-Aws-Request-Id: {id}\r\n\
                         Lambda-Runtime-Invocation-Id: inv{i}\r\n\
                         Lambda-Runtime-Deadline-Ms: 9999999999999\r\n{close}"
                    );
                    writer.write_all(head.as_bytes()).unwrap();
                    if manner.huge {
                        writer
                            .write_all(b"Transfer-Encoding: chunked\r\n\r\nffffffffffff\r\n")
                            .unwrap();
                        writer.write_all(&body).unwrap();
                        return;
                    }
                    match manner.chunked {
                        Some(size) => {
                            writer
                                .write_all(b"Transfer-Encoding: chunked\r\n\r\n")
                                .unwrap();
                            for chunk in body.chunks(size) {
                                write!(writer, "{:x};ext=1\r\n", chunk.len()).unwrap();
                                writer.write_all(chunk).unwrap();
                                writer.write_all(b"\r\n").unwrap();
                            }
                            writer.write_all(b"0\r\nX-Trailer: 1\r\n\r\n").unwrap();
                        }
                        None => {
                            let announced = body.len() + if manner.short { 100 } else { 0 };
                            write!(writer, "Content-Length: {announced}\r\n\r\n").unwrap();
                            writer.write_all(&body).unwrap();
                            if manner.short {
                                return;
                            }
                        }
                    }
                } else {
                    let refused = manner.refuse && seen.line.contains("/response ");
                    let answer: &[u8] = if refused {
                        b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n"
                    } else {
                        b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n"
                    };
                    // The head and the body in two writes, as Python's http.server
                    // answers.
                    writer.write_all(answer).unwrap();
                    writer.write_all(format!("{close}\r\n").as_bytes()).unwrap();
                    writer.write_all(b"{}").unwrap();
                    if posts.send(seen).is_err() {
                        return;
                    }
                }
                if manner.close {
                    break;
                }
            }
        }
    });
    address
}

/// A Firehose request of `n` copies of one sample event.
fn batch(n: usize) -> Vec<u8> {
    let event = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/events/action_started.json"),
    )
    .unwrap();
    let data = base64_simd::STANDARD.encode_to_string(&event);
    let records: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"recordId":"{i}","approximateArrivalTimestamp":1,"data":"{data}"}}"#))
        .collect();
    format!(
        r#"{{"invocationId":"x","records":[{}]}}"#,
        records.join(",")
    )
    .into_bytes()
}

const TABLE: Table = Table::Action;

/// Runs the transform's Runtime API loop against the fake with `bodies`, on its own
/// thread; `init` fails when given an error.
fn run(bodies: Vec<Vec<u8>>, manner: Manner, init: Result<(), String>) -> mpsc::Receiver<Seen> {
    run_to_end(bodies, manner, init).0
}

/// [`run`], and how the loop ended.
fn run_to_end(
    bodies: Vec<Vec<u8>>,
    manner: Manner,
    init: Result<(), String>,
) -> (mpsc::Receiver<Seen>, mpsc::Receiver<std::io::Result<()>>) {
    let (tx, rx) = mpsc::channel();
    let (ended, end) = mpsc::channel();
    let address = fake_runtime_api(bodies, manner, tx);
    std::thread::spawn(move || {
        let outcome = runtime::serve(
            &address,
            move || init.map(|()| TABLE),
            |table: &Table, body: &mut runtime::Body<'_>, buffers: &mut runtime::Buffers| {
                let length = body.len();
                let transformed = transform_stream_into(
                    *table,
                    body,
                    length,
                    &mut buffers.request,
                    &mut buffers.response,
                );
                assert!(buffers.request != b"panic", "asked to");
                transformed
            },
        );
        let _ = ended.send(outcome);
    });
    (rx, end)
}

fn receive(rx: &mpsc::Receiver<Seen>) -> Seen {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a POST from the runtime")
}

/// Checks that `seen` is the response to invocation `i` of `body`.
fn assert_response(seen: &Seen, i: usize, body: &[u8]) {
    assert_eq!(
        seen.line,
        format!("POST /2018-06-01/runtime/invocation/r{i}/response HTTP/1.1")
    );
    assert_eq!(seen.header("transfer-encoding"), None);
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string().as_str())
    );
    assert_eq!(
        seen.header("lambda-runtime-invocation-id"),
        Some(format!("inv{i}").as_str())
    );
    assert!(
        seen.body == transform_batch(TABLE, body).unwrap(),
        "response {i} differs from transform_batch's"
    );
}

#[test]
fn batches_are_posted_whole_with_their_length_and_bad_ones_fail_alone() {
    // Sizes up and down: the runtime reuses its buffers, and a small batch after a
    // large one must not carry any of it.
    let bodies = vec![
        batch(300),
        batch(3),
        b"not json".to_vec(),
        b"panic".to_vec(),
        batch(200),
        batch(0),
    ];
    // More records than one unit of parallel work: the response goes out in parts.
    let mut parts = Vec::new();
    transform_batch_into(TABLE, &bodies[0], &mut parts).unwrap();
    assert!(parts.len() > 3);

    let rx = run(bodies.clone(), Manner::default(), Ok(()));
    for (i, body) in bodies.iter().enumerate() {
        let seen = receive(&rx);
        match i {
            2 => {
                assert_eq!(
                    seen.line,
                    "POST /2018-06-01/runtime/invocation/r2/error HTTP/1.1"
                );
                assert_eq!(
                    seen.header("lambda-runtime-function-error-type"),
                    Some("Runtime.DeserializationError")
                );
                assert_eq!(seen.error_type(), "Runtime.DeserializationError");
            }
            3 => {
                assert!(seen.line.contains("/invocation/r3/error "), "{}", seen.line);
                assert_eq!(seen.error_type(), "Runtime.Panic");
            }
            _ => assert_response(&seen, i, body),
        }
    }
}

#[test]
fn chunked_invocations_and_closed_connections_are_read_alike() {
    let bodies = vec![batch(150), batch(1), batch(70)];
    for manner in [
        Manner {
            chunked: Some(1000),
            ..Manner::default()
        },
        // Chunks shorter than a chunk header, so each is read across socket reads.
        Manner {
            chunked: Some(7),
            close: true,
            ..Manner::default()
        },
        Manner {
            close: true,
            ..Manner::default()
        },
    ] {
        let rx = run(bodies.clone(), manner, Ok(()));
        for (i, body) in bodies.iter().enumerate() {
            assert_response(&receive(&rx), i, body);
        }
    }
}

#[test]
fn a_refused_reply_does_not_stop_the_runtime() {
    let bodies = vec![batch(10), batch(20)];
    let manner = Manner {
        refuse: true,
        ..Manner::default()
    };
    let rx = run(bodies.clone(), manner, Ok(()));
    assert_response(&receive(&rx), 0, &bodies[0]);
    assert_response(&receive(&rx), 1, &bodies[1]);
}

#[test]
fn an_init_error_is_reported_as_one() {
    let rx = run(
        vec![batch(1)],
        Manner::default(),
        Err("CPLOGS_TABLE is not set".into()),
    );
    let seen = receive(&rx);
    assert_eq!(seen.line, "POST /2018-06-01/runtime/init/error HTTP/1.1");
    assert_eq!(seen.error_type(), "Runtime.InitError");
    let doc: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(doc["errorMessage"], "CPLOGS_TABLE is not set");
    // Nothing else: the runtime ended.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn a_body_cut_short_or_too_long_or_a_bad_request_id_ends_the_runtime_without_a_reply() {
    for (manner, says) in [
        (
            Manner {
                short: true,
                ..Manner::default()
            },
            "inside a body",
        ),
        (
            Manner {
                huge: true,
                ..Manner::default()
            },
            "a body of more than",
        ),
        (
            Manner {
                id: Some("../../init/error x"),
                ..Manner::default()
            },
            "a request id unfit for a path",
        ),
    ] {
        let (rx, end) = run_to_end(vec![batch(100)], manner, Ok(()));
        let outcome = end
            .recv_timeout(Duration::from_secs(30))
            .expect("the runtime ends");
        let error = outcome.expect_err("an error");
        assert!(error.to_string().contains(says), "{error}");
        // No reply was posted for the batch: Lambda retries it.
        assert!(rx.try_recv().is_err());
    }
}
