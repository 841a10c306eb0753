//! kube-verdict: tells whether a Kubernetes deployment really worked, from the cluster itself.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod engine;
pub mod live_engine;
pub mod reports;
pub mod run;
pub mod serve;
pub mod sinks;
pub mod sources;
pub mod state;
