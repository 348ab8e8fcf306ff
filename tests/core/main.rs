//! The core against its contracts: the log record against DESIGN.md and the AWS
//! sample events, and `infra/template.yaml` against the schema. One test binary.

#[path = "../common/mod.rs"]
mod common;

mod record;
mod template;
