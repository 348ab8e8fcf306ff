//! The core the Lambdas share with the CLI: the event model, the log record, the
//! table schema and the file layout, and the transform that joins them. Nothing here
//! needs AWS, an engine or the CLI's dependencies.

pub mod event;
mod gaps;
pub mod layout;
pub mod record;
pub mod schema;
pub mod special;
pub mod transform;
