//! Sinks: publish and render verdicts (the published snapshot, metrics, HTTP, the check report).
//! They never re-derive a verdict, and never name a source or the wiring (`tests/layers.rs` checks it).

pub mod http;
pub mod metrics;
pub mod published;
pub mod report;
pub mod server;
