//! kube-verdict: tells whether a Kubernetes deployment really worked, from the cluster itself.
//!
//! Layers (each only imports those below it; `tests/layers.rs` checks it):
//! `app` (the only wiring) → `sources`, `sinks` → `config` → `cli`, `engine` (pure).
#![forbid(unsafe_code)]
#![warn(clippy::too_many_lines)]

pub mod app;
pub mod cli;
pub mod config;
pub mod engine;
pub mod sinks;
pub mod sources;
pub mod telemetry;
