//! The pure verdict engine: takes Kubernetes objects (as `Change`s) and an explicit `now`, and
//! returns verdicts. No I/O, no clock, no kube client, no tokio: `.ci/run` greps for them.

pub mod builds;
pub mod events;
pub mod image;
pub mod k8s;
pub mod ledger;
pub mod registry;
pub mod rollout;
mod testing;
pub mod text;
pub mod verdict;
pub mod view;
mod wire;

pub use verdict::{DeploymentVerdict, Policy, Verdict, judge_all};
pub use view::{Change, ClusterView};
