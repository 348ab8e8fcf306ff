//! `cplogs doctor` on a healthy and a broken deployment: a local copy, and a bucket,
//! Glue tables, Athena workgroup and queues on moto. Each check must pass on the
//! healthy one and fail, with a fix, on the broken one.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::cli::{cplogs, cplogs_aws};
use crate::common::moto::endpoint;
use crate::common::text;

/// The checks of a `doctor --format json` run, by name: whether each passed.
fn verdicts(o: &Output) -> Vec<(String, bool)> {
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn ok(v: &[(String, bool)], name: &str) -> bool {
    v.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no check {name}: {v:?}"))
        .1
}

fn demo(dir: &Path) {
    let o = cplogs(&[
        "demo",
        "--out",
        dir.to_str().unwrap(),
        "--pipelines",
        "4",
        "--days",
        "20",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn a_local_copy_healthy_then_broken() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path());
    let root = dir.path().to_str().unwrap();
    // The demo ends now, part way through today, and runs mostly in working hours: at
    // some times of day a pipeline whose runs today all come later has been silent
    // 10–20 times its median gap (a real doctor would flag it). Healthy here means
    // no pipeline silent for more than a day's worth of gaps; the quiet store below,
    // silent for days, is caught at the default factor.
    let o = cplogs(&[
        "--local",
        root,
        "doctor",
        "--silence-factor",
        "30",
        "--format",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let v = verdicts(&o);
    for name in ["events", "freshness", "firehose errors", "files"] {
        assert!(ok(&v, name), "{name}: {v:?}");
    }
    // Broken: an error object of today, a file that is not gzip, one left behind.
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    let errors = dir.path().join(format!(
        "errors/action_execution_state_change/processing-failed/{today}"
    ));
    std::fs::create_dir_all(&errors).unwrap();
    std::fs::write(
        errors.join("cplogs-action-1"),
        "{\"attemptsMade\":1,\"errorCode\":\"Lambda.ProcessingFailed\",\"errorMessage\":\"bad event\",\"rawData\":\"e30=\"}\n",
    )
    .unwrap();
    let some_dt = dir.path().join(
        files(dir.path())
            .into_iter()
            .find(|f| f.starts_with("pipeline_execution_state_change/dt="))
            .unwrap(),
    );
    let folder = some_dt.parent().unwrap();
    std::fs::write(folder.join("notes.txt"), "not data").unwrap();
    std::fs::write(folder.join(".cplogs-left-behind.tmp"), "x").unwrap();
    let o = cplogs(&["--local", root, "doctor", "--format", "json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let v = verdicts(&o);
    assert!(!ok(&v, "firehose errors"), "{v:?}");
    assert!(!ok(&v, "files"), "{v:?}");
    assert!(ok(&v, "events"), "{v:?}");
    // The table form: one line per check, the fix under a failed one.
    let o = cplogs(&["--local", root, "doctor"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("✖ firehose errors: 1 error object(s) in the last 7 days; first: bad event"),
        "{out}"
    );
    assert!(
        out.contains("fix: cplogs replay-errors --since 7d"),
        "{out}"
    );
    assert!(out.contains("✔ events"), "{out}");
    // Pipelines silent for days where they usually run every few hours are flagged.
    let quiet = tempfile::tempdir().unwrap();
    let end = (chrono::Utc::now() - chrono::Duration::days(4))
        .format("%Y-%m-%d")
        .to_string();
    let o = cplogs(&[
        "demo",
        "--out",
        quiet.path().to_str().unwrap(),
        "--pipelines",
        "3",
        "--days",
        "20",
        "--end",
        &end,
    ]);
    assert!(o.status.success());
    let o = cplogs(&["--local", quiet.path().to_str().unwrap(), "doctor"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).contains("✖ freshness: silent far beyond their usual gap"),
        "{}",
        text(&o.stdout)
    );
    // No events at all in the last 30 days is a failure too.
    let empty = tempfile::tempdir().unwrap();
    let o = cplogs(&[
        "--local",
        empty.path().to_str().unwrap(),
        "doctor",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!ok(&verdicts(&o), "events"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_on_moto_healthy_then_broken() {
    use cplogs::aws::sdk::{AwsOptions, load_config, s3_client};
    let endpoint = endpoint();
    let region = "sa-east-1";
    let config = load_config(&AwsOptions {
        region: Some(region.into()),
        endpoint_url: Some(endpoint.clone()),
        ..AwsOptions::default()
    })
    .await;
    let s3 = s3_client(&config);
    let bucket = "doctor-logs";
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::SaEast1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    demo(data.path());
    for f in files(data.path()) {
        let body = std::fs::read(data.path().join(&f)).unwrap();
        s3.put_object()
            .bucket(bucket)
            .key(&f)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    let athena = aws_sdk_athena::Client::new(&config);
    let result = |encrypted: bool| {
        let mut r = aws_sdk_athena::types::ResultConfiguration::builder()
            .output_location("s3://doctor-logs/athena-results/");
        if encrypted {
            r = r.encryption_configuration(
                aws_sdk_athena::types::EncryptionConfiguration::builder()
                    .encryption_option(aws_sdk_athena::types::EncryptionOption::SseS3)
                    .build()
                    .unwrap(),
            );
        }
        aws_sdk_athena::types::WorkGroupConfiguration::builder()
            .result_configuration(r.build())
            .build()
    };
    for (name, encrypted) in [("doctor-good", true), ("doctor-plain", false)] {
        athena
            .create_work_group()
            .name(name)
            .configuration(result(encrypted))
            .send()
            .await
            .unwrap();
    }
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name("cplogs-PartitionFailureQueue-X1")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let run = |extra: Vec<String>| {
        let mut args = vec!["--bucket".to_owned(), bucket.to_owned()];
        args.extend(extra);
        let endpoint = endpoint.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            cplogs_aws(&endpoint, region, &a)
        })
    };
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let o = run(s(&["tables", "create"])).await.unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = run(s(&["repair-partitions"])).await.unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doctor = |wg: &str| {
        s(&[
            "doctor",
            "--workgroup",
            wg,
            "--format",
            "json",
            "--queue",
            &queue,
        ])
    };
    let o = run(doctor("doctor-good")).await.unwrap();
    let v = verdicts(&o);
    for name in [
        "tables",
        "partitions",
        "workgroup",
        "queues",
        "firehose errors",
        "files",
    ] {
        assert!(ok(&v, name), "{name}: {v:?}\n{}", text(&o.stderr));
    }

    // Broken: a table gone, a dt= folder without partition, a message waiting, an
    // unencrypted workgroup, an error object of today.
    let glue = aws_sdk_glue::Client::new(&config);
    glue.delete_table()
        .database_name("codepipeline_event_logs")
        .name("stage_execution_state_change")
        .send()
        .await
        .unwrap();
    let gz = std::fs::read(data.path().join(files(data.path())[0].clone())).unwrap();
    s3.put_object()
        .bucket(bucket)
        .key("action_execution_state_change/dt=2020-01-01/late.gz")
        .body(gz.into())
        .send()
        .await
        .unwrap();
    sqs.send_message()
        .queue_url(&queue)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    s3.put_object()
        .bucket(bucket)
        .key(format!(
            "errors/pipeline_execution_state_change/processing-failed/{today}/x"
        ))
        .body(b"{\"errorMessage\":\"boom\"}\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let o = run(doctor("doctor-plain")).await.unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let v = verdicts(&o);
    for name in [
        "tables",
        "partitions",
        "workgroup",
        "queues",
        "firehose errors",
    ] {
        assert!(!ok(&v, name), "{name} should fail: {v:?}");
    }
}
