//! `transform_batch` (raw request body in, response body out) and
//! `transform_stream_into` (what the Lambda runs: the same, read as it arrives, here in
//! pieces of every size from 1 byte up) against the typed path they replaced
//! (`TransformRequest` → `handle` → `TransformResponse`, serialised by serde_json as
//! lambda_runtime did): the same bytes for the samples, hostile records, thousands of
//! mutated and random records, and odd but valid requests; and an error exactly when
//! the typed request does not parse.

use std::path::PathBuf;

use base64_simd::STANDARD;
use cplogs::Table;
use std::cell::Cell;
use std::io::Read;

use cplogs_transform::{TransformRequest, handle, transform_batch, transform_stream_into};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The typed path: what the Lambda answered before `transform_batch`.
fn typed(table: Table, body: &[u8]) -> Option<Vec<u8>> {
    let request: TransformRequest = serde_json::from_slice(body).ok()?;
    Some(serde_json::to_vec(&handle(table, request)).unwrap())
}

/// A body that arrives in pieces of sizes from a seeded sequence (1 byte up to a
/// few kilobytes: within a string, across records).
struct Pieces<'a> {
    rest: &'a [u8],
    rng: Rng,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = match self.rng.below(4) {
            0 => 1 + self.rng.below(8),
            1 => 1 + self.rng.below(200),
            _ => 1 + self.rng.below(5000),
        };
        let size = size.min(buf.len());
        self.rest.read(&mut buf[..size])
    }
}

thread_local! {
    /// Seeds of the streamed reads, different for every body.
    static SEED: Cell<u64> = const { Cell::new(0x9e37_79b9_7f4a_7c15) };
}

/// The streaming path, reading `body` in pieces into reused buffers (left with the
/// last body's bytes, as in the Lambda).
fn streamed(table: Table, body: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<Vec<u8>>)> = Default::default();
    }
    let seed = SEED.with(|s| {
        s.set(
            s.get()
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1),
        );
        s.get() | 1
    });
    let mut pieces = Pieces {
        rest: body,
        rng: Rng(seed),
    };
    BUFFERS.with(|b| {
        let (request, parts) = &mut *b.borrow_mut();
        transform_stream_into(table, &mut pieces, body.len(), request, parts).ok()?;
        Some(parts.concat())
    })
}

/// The three paths on one request body.
fn same(table: Table, body: &[u8]) {
    let want = typed(table, body);
    let got = transform_batch(table, body).ok();
    let streamed = streamed(table, body);
    assert!(
        streamed == got,
        "the streamed response differs from the whole one for {}",
        String::from_utf8_lossy(&body[..body.len().min(2000)])
    );
    match (&got, &want) {
        (Some(a), Some(b)) if a == b => {}
        (None, None) => {}
        _ => panic!(
            "request {}\nbatch: {}\ntyped: {}",
            String::from_utf8_lossy(&body[..body.len().min(2000)]),
            got.map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
            want.map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        ),
    }
}

/// A request of `datas` (JSON string literals, as they appear in the body).
fn request(datas: &[String]) -> Vec<u8> {
    let records: Vec<String> = datas
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                r#"{{"recordId":"rec-{i}","approximateArrivalTimestamp":1700000000000,"data":{d}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"invocationId":"inv","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/s","region":"us-east-1","records":[{}]}}"#,
        records.join(",")
    )
    .into_bytes()
}

fn literal(bytes: &[u8]) -> String {
    format!("\"{}\"", STANDARD.encode_to_string(bytes))
}

#[test]
fn samples_give_the_same_response_for_every_table() {
    let datas: Vec<String> = fixtures().iter().map(|f| literal(f)).collect();
    for table in Table::ALL {
        same(table, &request(&datas));
    }
    same(Table::Action, &request(&[]));
}

#[test]
fn hostile_records_give_the_same_response() {
    let action = String::from_utf8(fixture("action_failed.json")).unwrap();
    let mut datas = vec![
        literal(b"x").replace('=', "@"),
        "\"QR==\"".into(),
        "\"QUJ\\nD\"".into(),
        literal(b"hello world"),
        literal(&[0xff, 0x00, 0xfe, 0x1b, 0x80, 0x81]),
        literal(&action.as_bytes()[..action.len() / 2]),
        "\"\"".into(),
        literal(b"[1,2,3]"),
        literal(b"null"),
        literal("[".repeat(100_000).as_bytes()),
        literal(format!("{{\"x\":{}", "[".repeat(100_000)).as_bytes()),
        literal(
            action
                .replacen(
                    "\"detail\": {",
                    &format!(
                        "\"x\": {}1{}, \"detail\": {{",
                        "[".repeat(50_000),
                        "]".repeat(50_000)
                    ),
                    1,
                )
                .as_bytes(),
        ),
        literal(
            action
                .replace("\"myPipeline\"", &format!("\"{}\"", "p".repeat(2_000_000)))
                .as_bytes(),
        ),
        // Escapes a Firehose request could carry: `\/` in base64, `\u` in text.
        literal(action.as_bytes()).replace('/', "\\/"),
        "\"not \\\"base64\\\" \\u00e9\\n\"".into(),
        "\"\\u0041\\u0041==\"".into(),
    ];
    datas.push(literal(action.as_bytes()));
    for table in Table::ALL {
        same(table, &request(&datas));
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_and_random_records_give_the_same_response() {
    let samples = fixtures();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..6 {
        let mut datas = Vec::new();
        for i in 0..1_000 {
            let sample = &samples[rng.below(samples.len())];
            let mut bytes = match i % 5 {
                // Compact, as EventBridge sends.
                0 | 1 => serde_json::from_slice::<Value>(sample)
                    .unwrap()
                    .to_string()
                    .into_bytes(),
                2 => sample.clone(),
                3 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
                _ => {
                    let mut b = sample.clone();
                    for _ in 0..1 + rng.below(6) {
                        let at = rng.below(b.len());
                        b[at] = b"\"\\{}[],:0123456789.eE-+ntfu \x01\xc3\xa9xyz"[rng.below(34)];
                    }
                    b
                }
            };
            if i % 7 == 0 {
                // Fields as floats, strings and escapes.
                let text = String::from_utf8_lossy(&bytes)
                    .replace("1.0", "\"1\"")
                    .replace("myPipeline", "my\\\"Pipe\\u00e9line\\n")
                    .replace("Deploy", "D\\/eploy");
                bytes = text.into_bytes();
            }
            datas.push(literal(&bytes));
        }
        let table = Table::ALL[round % 3];
        same(table, &request(&datas));
    }
}

#[test]
fn odd_but_valid_requests_and_invalid_ones_are_read_alike() {
    let event = literal(&fixture("stage_started.json"));
    let bodies = [
        // Fields in another order, unknown ones, whitespace, escaped ids.
        format!(
            "{{ \"records\" : [ {{ \"data\" : {event} , \"kinesisRecordMetadata\": {{\"shardId\": \"s\", \"x\": [1, {{}}]}}, \"recordId\" : \"id\\\"\\u00e9\\n\" }} ] , \"region\": \"us-east-1\" }}"
        ),
        format!("{{\"records\":[{{\"recordId\":\"a\",\"data\":{event}}}],\"records2\":null}}"),
        // What the typed request rejects: the batch path must reject it too.
        format!("{{\"records\":[{{\"data\":{event}}}]}}"),
        format!("{{\"records\":[{{\"recordId\":\"a\",\"data\":{event},\"data\":{event}}}]}}"),
        format!("{{\"records\":[{{\"recordId\":7,\"data\":{event}}}]}}"),
        "{\"records\":[{\"recordId\":\"a\",\"data\":null}]}".to_string(),
        "{\"records\":{}}".into(),
        "{\"records\":null}".into(),
        "{}".into(),
        "[]".into(),
        "[[]]".into(),
        "null".into(),
        "".into(),
        "{\"records\":[]} x".into(),
        "{\"records\":[]}\n".into(),
        "[".repeat(100_000),
        format!("{{\"records\":[{{\"recordId\":\"a\",\"data\":{event}}}"),
    ];
    for body in bodies {
        same(Table::Stage, body.as_bytes());
    }
    // Bytes no JSON string may hold, where the request scanner does not look at once:
    // in data that is not base64, in ids, in other fields.
    let plain = request(&[literal(b"{}"), event.clone()]);
    let at = |needle: &str| {
        plain
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap()
    };
    for (pos, byte) in [
        (at("e30=") + 1, 0x01u8),
        (at("e30=") + 1, 0xff),
        (at("e30=") + 1, 0xc3),
        (at("rec-1") + 2, 0x1f),
        (at("rec-1") + 2, 0xfe),
        (at("inv\"") + 1, 0x0a),
        (at("inv\"") + 1, 0x80),
    ] {
        let mut body = plain.clone();
        body[pos] = byte;
        same(Table::Stage, &body);
    }
}
