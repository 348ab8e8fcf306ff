//! cplogs: keep and query AWS CodePipeline execution history.
//!
//! The library is the one definition of everything DESIGN.md names: the event model
//! ([`event`]), the log record ([`record`]), the table schema ([`schema`]) and the file
//! layout ([`layout`]), plus the transform that joins them ([`transform`]). With default
//! features off it compiles only that core, which is what the Lambdas depend on; the
//! `cli` feature adds the command-line tool.

pub mod event;
pub mod layout;
pub mod record;
pub mod schema;
pub mod template;
pub mod transform;

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(any(feature = "local", feature = "athena"))]
pub mod engine;
#[cfg(feature = "glue")]
pub mod glue;
#[cfg(feature = "aws")]
pub mod partitions;
#[cfg(feature = "s3")]
pub mod repair;
#[cfg(feature = "cli")]
pub mod tables;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod config;
#[cfg(feature = "cli")]
pub mod demo;
#[cfg(feature = "cli")]
pub mod exit;
#[cfg(feature = "cli")]
pub mod iam;
#[cfg(feature = "cli")]
pub mod ingest;
#[cfg(feature = "cli")]
pub mod output;
#[cfg(feature = "local")]
pub mod reports;
#[cfg(feature = "cli")]
pub mod split;
pub mod window;

pub use layout::Dt;
pub use schema::Table;
pub use transform::{Routed, TransformError, transform_into};
