//! The `cplogs` binary end to end, with no AWS: hostile command lines, `ingest` and
//! `demo`, `ingest` under faults, and `report`, `query`, `audit` on the local engine.
//! One test binary for all of them (each test file used to link its own).

#[path = "../common/mod.rs"]
mod common;

mod argv;
mod dashboard;
mod ingest;
mod ingest_faults;
mod output;
mod report;
