//! Running the real `cplogs` binary: with no cplogs or AWS settings of this machine
//! (hermetic), or against an AWS endpoint with the test credentials.

use std::process::{Command, Output};

use super::text;

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_cplogs");

/// A `cplogs` command that sees no cplogs or AWS settings from this machine: no
/// `CPLOGS_*` or `AWS_*` variables, no config file, no home directory, and no cache
/// (a test that wants one sets CPLOGS_CACHE_DIR). The cache would lie under
/// /dev/null, where even root cannot create it: under the missing home, tests run
/// as root created it and shared it between tests and runs.
pub fn hermetic() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/cplogs-test-config")
        .env("XDG_CACHE_HOME", "/dev/null/cplogs-test-cache")
        .env("HOME", "/nonexistent/cplogs-test-home")
        // Tables are fitted to COLUMNS off a terminal: the tests say when they want it.
        .env_remove("COLUMNS");
    for (k, _) in std::env::vars() {
        if k.starts_with("CPLOGS_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

/// Runs `cplogs ARGS` hermetically.
pub fn cplogs(args: &[&str]) -> Output {
    cplogs_env(args, &[])
}

/// Runs `cplogs ARGS` hermetically, plus the variables `env`.
pub fn cplogs_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    hermetic()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run cplogs")
}

/// Runs `cplogs ARGS --endpoint-url ENDPOINT --region REGION` with the AWS credentials
/// of the environment (tests/with-moto.sh sets test ones) and no cplogs settings.
pub fn cplogs_aws(endpoint: &str, region: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .args(["--endpoint-url", endpoint, "--region", region])
        .env("XDG_CONFIG_HOME", "/nonexistent/cplogs-test-config");
    for (k, _) in std::env::vars() {
        if k.starts_with("CPLOGS_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().expect("run cplogs")
}

/// Runs `cplogs demo ARGS` hermetically and checks it succeeded.
pub fn demo(args: &[&str]) -> Output {
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    let o = cplogs(&all);
    assert!(o.status.success(), "{}", text(&o.stderr));
    o
}
