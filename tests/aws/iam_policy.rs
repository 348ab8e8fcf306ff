//! `cplogs iam-policy` against moto's Athena (which `tests/with-moto.sh` starts):
//! without a configured result location the policy names the workgroup's, and when
//! that cannot be known, or the bucket is missing, it refuses (exit 2) instead of
//! granting any bucket.

use std::process::Output;

use serde_json::Value;

use crate::common::cli::hermetic;
use crate::common::moto::endpoint;
use crate::common::text;

/// A region no other test uses, so the workgroups here are this file's alone.
const REGION: &str = "ap-southeast-2";

/// Runs cplogs hermetically (no settings of this machine) with moto's test credentials.
fn cplogs(args: &[&str]) -> Output {
    hermetic()
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("run cplogs")
}

/// Creates workgroup `name` in moto, with `location` as its result location.
fn create_workgroup(name: &str, location: Option<&str>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = cplogs::aws::sdk::load_config(&cplogs::aws::sdk::AwsOptions {
            region: Some(REGION.into()),
            profile: None,
            endpoint_url: Some(endpoint()),
        })
        .await;
        let athena = aws_sdk_athena::Client::new(&config);
        let mut configuration = aws_sdk_athena::types::WorkGroupConfiguration::builder();
        if let Some(l) = location {
            configuration = configuration.result_configuration(
                aws_sdk_athena::types::ResultConfiguration::builder()
                    .output_location(l)
                    .build(),
            );
        }
        athena
            .create_work_group()
            .name(name)
            .configuration(configuration.build())
            .send()
            .await
            .unwrap();
    });
}

fn on_moto<'a>(args: &[&'a str], endpoint: &'a str) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--region", REGION, "--endpoint-url", endpoint]);
    all
}

#[test]
fn the_workgroup_result_location_is_the_one_granted() {
    create_workgroup("iam-with-location", Some("s3://wg-results/cplogs/"));
    let url = endpoint();
    for command in [&["iam-policy", "report"][..], &["iam-policy"][..]] {
        let mut args = command.to_vec();
        args.extend(["--bucket", "my-logs", "--workgroup", "iam-with-location"]);
        let o = cplogs(&on_moto(&args, &url));
        assert!(o.status.success(), "{command:?}: {}", text(&o.stderr));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        // ListPipelines (backfill) has no resource-level permission: `*` is IAM's rule.
        let resources: Vec<String> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Sid"] != "BackfillListPipelines")
            .flat_map(|s| s["Resource"].as_array().unwrap().iter())
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        assert!(
            resources.contains(&"arn:aws:s3:::wg-results/cplogs/*".to_owned()),
            "{resources:?}"
        );
        assert!(resources.contains(&"arn:aws:s3:::wg-results".to_owned()));
        assert!(
            resources
                .iter()
                .all(|r| r != "*" && !r.starts_with("arn:aws:s3:::*")),
            "{resources:?}"
        );
        // The region it was read in is the policy's region.
        assert!(
            resources.contains(&format!(
                "arn:aws:athena:{REGION}:*:workgroup/iam-with-location"
            )),
            "{resources:?}"
        );
    }
}

#[test]
fn an_unknown_result_location_is_asked_for() {
    create_workgroup("iam-without-location", None);
    let url = endpoint();
    for workgroup in ["iam-without-location", "iam-no-such-workgroup"] {
        let o = cplogs(&on_moto(
            &[
                "iam-policy",
                "report",
                "--bucket",
                "my-logs",
                "--workgroup",
                workgroup,
            ],
            &url,
        ));
        assert_eq!(o.status.code(), Some(2), "{workgroup}: {}", text(&o.stderr));
        assert!(o.stdout.is_empty());
        let err = text(&o.stderr);
        assert!(err.contains("--output-location"), "{err}");
        assert!(err.contains(workgroup), "{err}");
    }
    // No region: the workgroup cannot be read at all.
    let o = cplogs(&[
        "iam-policy",
        "report",
        "--bucket",
        "my-logs",
        "--endpoint-url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--output-location"));
}

#[test]
fn a_missing_bucket_is_asked_for_and_given_values_need_no_aws() {
    // Nothing listens on port 9 (discard): a call to AWS would fail, not exit 0.
    let nowhere = "http://127.0.0.1:9";
    for command in ["report", "repair-partitions"] {
        let o = cplogs(&[
            "iam-policy",
            command,
            "--output-location",
            "s3://my-results/p/",
            "--endpoint-url",
            nowhere,
        ]);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("--bucket"), "{}", text(&o.stderr));
    }
    let o = cplogs(&[
        "iam-policy",
        "--bucket",
        "my-logs",
        "--output-location",
        "s3://my-results/athena/",
        "--endpoint-url",
        nowhere,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = cplogs(&["iam-policy", "tables", "--endpoint-url", nowhere]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A wildcard given as a value is refused, not passed into the policy.
    for args in [
        &["iam-policy", "repair-partitions", "--bucket", "*"][..],
        &["iam-policy", "tables", "--database", "*"][..],
        &[
            "iam-policy",
            "report",
            "--bucket",
            "b-logs",
            "--output-location",
            "s3://*/x/",
        ][..],
    ] {
        let o = cplogs(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
}
