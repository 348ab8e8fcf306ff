//! Helpers shared by every test binary (`tests/<group>/main.rs` includes this module
//! with `#[path = "../common/mod.rs"] mod common;`): running the `cplogs` binary,
//! the AWS sample events, event builders, times, moto (the local AWS API), and a fake
//! CodePipeline (moto lacks ListActionExecutions).
//! Each binary uses some of them, so the rest is dead code there.
#![allow(dead_code)]

pub mod cli;
pub mod codepipeline;
pub mod events;
pub mod moto;

use chrono::{DateTime, Utc};

/// Output bytes as text (lossy), for messages and `contains` checks.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An RFC 3339 time, in UTC.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
