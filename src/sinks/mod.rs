//! Sinks: render verdicts (report now; metrics and HTTP with `serve`). They never re-derive one.

pub mod report;
