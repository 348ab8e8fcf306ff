//! cplogs against moto, the local AWS API that tests/with-moto.sh starts: Athena
//! reports, `tables`, `repair-partitions` (library and binary), and faults injected
//! by a proxy in front of moto; and the fake CodePipeline (tests/common/codepipeline)
//! through the real SDK client. One test binary for all of them.

#[path = "../common/mod.rs"]
mod common;

mod athena;
mod backfill;
mod codepipeline_fake;
mod doctor;
mod fault_proxy;
mod iam_policy;
mod repair;
mod rewrite;
mod tables;
