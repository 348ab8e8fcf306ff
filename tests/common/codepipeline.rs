//! A local fake of AWS CodePipeline for tests and benchmarks of `cplogs backfill`: it
//! speaks the real wire protocol (AWS JSON 1.1), so the real `aws-sdk-codepipeline`
//! client reaches it through an endpoint override, and serves a history folded from
//! EventBridge events (the demo generator's), which moto cannot (it lacks
//! ListActionExecutions).
//!
//! ```ignore
//! let history = History::demo(&config, "123456789012");
//! let fake = FakeCodePipeline::start(history);
//! // aws_sdk_codepipeline::Config::builder().endpoint_url(fake.endpoint())…
//! ```
//!
//! Served: ListPipelines, ListPipelineExecutions, ListActionExecutions (filter by
//! pipelineExecutionId) and GetPipelineExecution, in the region of the request's SigV4
//! credential scope, with AWS's page sizes, orders, tokens and error codes. Not
//! modelled: artifacts, configurations, variables, rollbacks, the
//! `succeededInStage` and `latestInPipelineExecution` filters (ignored).

mod history;
mod server;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use history::{
    ActionInfo, ActionStatus, ExecutionInfo, ExecutionStatus, History, HistoryFolder,
};
#[allow(unused_imports)]
pub use server::{FakeCodePipeline, Faults};
