//! Benchmark of the Firehose transform handler on a 4,000-record batch of action
//! events (~5 MB): the request read in 64 KB pieces into reused buffers, as the Lambda
//! runs it (`transform_stream_into`, without the socket), the whole body in and one
//! response buffer out (`transform_batch`), and the typed path they replaced
//! (deserialise the request, `handle`, serialise the response) for comparison.
//! Criterion prints both records/s (`elem/s`) and bytes of request per second.

use std::hint::black_box;
use std::io::Read;
use std::path::PathBuf;

use base64_simd::STANDARD;
use cplogs::Table;
use cplogs_transform::{
    RecordResult, TransformRequest, handle, transform_batch, transform_stream_into,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECORDS: usize = 4_000;

// The same allocator as the Lambda binary (src/main.rs), so the figure is the Lambda's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A Firehose request body of `RECORDS` action events built from the AWS samples,
/// each with its own event and action execution id.
fn batch() -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events");
    let samples: Vec<String> = [
        "action_started.json",
        "action_succeeded.json",
        "action_failed.json",
        "action_abandoned.json",
    ]
    .iter()
    .map(|n| {
        // EventBridge sends compact JSON.
        let text = std::fs::read_to_string(dir.join(n)).expect("fixture");
        serde_json::from_str::<serde_json::Value>(&text)
            .expect("json")
            .to_string()
    })
    .collect();
    let records: Vec<String> = (0..RECORDS)
        .map(|i| {
            let event = samples[i % samples.len()]
                .replace("01234567-EXAMPLE", &format!("{i:08}-EXAMPLE"))
                .replace("47f821c5-a902", &format!("{:08x}-a902", i));
            format!(
                r#"{{"recordId":"4954698668313554428650745793632167567570019247115{i:07}","approximateArrivalTimestamp":1700000000000,"data":"{}"}}"#,
                STANDARD.encode_to_string(event)
            )
        })
        .collect();
    format!(
        r#"{{"invocationId":"00540a87-5050-496a-84e4-e7d92bbaf5e2","deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/action_execution_state_change","region":"us-east-1","records":[{}]}}"#,
        records.join(",")
    )
    .into_bytes()
}

/// A body that arrives in pieces of 64 KB, about what a socket read gives.
struct Pieces<'a>(&'a [u8]);

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 * 1024).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn bench_handler(c: &mut Criterion) {
    let body = batch();
    eprintln!(
        "batch: {RECORDS} records, {:.2} MB",
        body.len() as f64 / 1e6
    );
    // The figure is only meaningful if every record is transformed.
    let check: TransformRequest = serde_json::from_slice(&body).expect("request");
    let typed = handle(Table::Action, check);
    assert!(typed.records.iter().all(|r| r.result == RecordResult::Ok));
    // And both paths must answer the same bytes.
    assert_eq!(
        transform_batch(Table::Action, &body).expect("request"),
        serde_json::to_vec(&typed).expect("response")
    );

    let mut group = c.benchmark_group("transform");
    group.throughput(Throughput::ElementsAndBytes {
        elements: RECORDS as u64,
        bytes: body.len() as u64,
    });
    group.sample_size(50);
    let (mut request, mut parts) = (Vec::new(), Vec::new());
    group.bench_function("stream_4000_action_events", |b| {
        b.iter(|| {
            let mut reader = Pieces(black_box(&body));
            transform_stream_into(
                Table::Action,
                &mut reader,
                body.len(),
                &mut request,
                &mut parts,
            )
            .expect("request");
        })
    });
    group.bench_function("batch_4000_action_events", |b| {
        b.iter(|| transform_batch(Table::Action, black_box(&body)).expect("request"))
    });
    group.bench_function("typed_path_4000_action_events", |b| {
        b.iter(|| {
            let request: TransformRequest =
                serde_json::from_slice(black_box(&body)).expect("request");
            let response = handle(Table::Action, request);
            black_box(serde_json::to_vec(&response).expect("response"))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_handler);
criterion_main!(benches);
