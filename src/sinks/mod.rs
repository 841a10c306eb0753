//! Sinks: render verdicts (report, metrics, HTTP). They never re-derive one.

pub mod http;
pub mod metrics;
pub mod report;
