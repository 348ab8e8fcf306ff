//! cplogs: keep and query AWS CodePipeline execution history.
//!
//! The folders are the parts (ARCHITECTURE.md draws the map):
//! - [`core`]: the one definition of everything DESIGN.md names (event model, log
//!   record, table schema, file layout) and the transform that joins them. Always
//!   compiled; with default features off it is all the transform Lambda gets.
//! - [`aws`]: the Glue/S3 side: SDK configuration, the schema as Glue tables,
//!   partition registration (the partition Lambda, feature `aws`), reconciling S3 with
//!   Glue, table management, the template's tables and IAM policies.
//! - [`engine`]: the two query engines (embedded and Athena) behind one interface.
//! - [`rows`]: the typed result rows engines produce and output formats consume.
//! - [`reports`]: the canned reports: one definition each, over the SQL in `sql/`.
//! - [`output`]: result rows as tables, JSON, CSV, markdown.
//! - [`ingest`]: events from files into the bucket layout on disk, and the demo history.
//! - [`cli`]: the `cplogs` command line: settings, one module per command, exit codes.

pub mod core;

#[cfg(feature = "glue")]
pub mod aws;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(any(feature = "local", feature = "athena"))]
pub mod engine;
#[cfg(any(feature = "cli", feature = "local"))]
pub mod hash;
#[cfg(feature = "cli")]
pub mod ingest;
#[cfg(feature = "cli")]
pub mod output;
#[cfg(feature = "cli")]
pub mod reports;
#[cfg(any(feature = "local", feature = "athena"))]
pub mod rows;
#[cfg(test)]
mod test_rng;

pub use core::layout::Dt;
pub use core::schema::Table;
pub use core::transform::{Routed, TransformError, transform_into};
