//! Blockers: reasons that hold pods of the rollout (the ReplicaSet's own failures included),
//! aggregated into the reports of DESIGN §6.

use jiff::Timestamp;

use super::super::events::{BlockerReason, classify_replica_failure};
use super::super::rollout::Rollout;
use super::super::view::{ClusterView, DeploymentInfo};
use super::pods::{earliest, latest};

/// DESIGN §6 order, for ties.
pub(super) fn precedence(r: BlockerReason) -> usize {
    BlockerReason::ALL
        .iter()
        .position(|x| *x == r)
        .unwrap_or(usize::MAX)
}

/// FailedCreate on the new ReplicaSet (quota, admission) or the ReplicaFailure condition.
pub(super) fn replica_set_blocker(
    view: &ClusterView,
    d: &DeploymentInfo,
    ro: &Rollout,
) -> Option<(BlockerReason, String, Option<Timestamp>)> {
    let ns = &d.meta.namespace;
    if let Some(rs) = ro.new_rs {
        let events = view.events_for(ns, "ReplicaSet", &rs.meta.name);
        let failed = latest(&events, &["FailedCreate"]);
        let created = latest(&events, &["SuccessfulCreate"]);
        if let Some(f) = failed
            && created.is_none_or(|c| c.last < f.last)
            && (rs.status.replicas < rs.spec_replicas
                || ro.new_pods.len() < rs.spec_replicas as usize)
        {
            let since = earliest(&events, &["FailedCreate"]);
            return Some((
                classify_replica_failure(&f.message),
                f.message.clone(),
                since,
            ));
        }
    }
    if let Some(c) = ro.replica_failure {
        return Some((
            classify_replica_failure(&c.message),
            c.message.clone(),
            c.last_transition,
        ));
    }
    let events = view.events_for(ns, "Deployment", &d.meta.name);
    if let Some(e) = latest(&events, &["ReplicaSetCreateError"])
        && ro.new_rs.is_none()
    {
        return Some((
            classify_replica_failure(&e.message),
            e.message.clone(),
            e.first,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::engine::events::{BlockerReason, Owner};
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, Policy, Verdict};

    const NO_CPU: &str = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";

    /// `shop/checkout` rolling out one pod the scheduler cannot place for lack of CPU, since
    /// `since` seconds.
    fn unschedulable(since: i64) -> Cluster {
        cluster(deployment("shop", "checkout").rolling(1, 0))
            .pod(pod("shop", "checkout-1").unschedulable(NO_CPU, ago(since)))
            .event(
                event("shop", "Pod", "checkout-1", "FailedScheduling", NO_CPU)
                    .source("default-scheduler")
                    .first(ago(since))
                    .last(ago(30)),
            )
    }

    fn autoscaler(reason: &str, message: &str) -> EventBuilder {
        event("shop", "Pod", "checkout-1", reason, message)
            .source("cluster-autoscaler")
            .last(ago(10))
    }

    #[test]
    fn a_pod_without_cpu_to_run_is_blocked_on_infrastructure() {
        let v = unschedulable(300).verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::InsufficientCpu),
                Owner::Infrastructure
            )
        );
        let b = &v.blockers[0];
        assert_eq!(
            (b.reason, b.pods, b.nodes, b.primary),
            (BlockerReason::InsufficientCpu, 1, 3, true)
        );
        assert!(v.next_step.as_deref().unwrap().starts_with("Add nodes"));
    }

    #[test]
    fn a_young_scheduling_failure_is_converging() {
        let v = unschedulable(60).verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::RolloutProgressing, Owner::None)
        );
        assert!(v.blockers.is_empty());
    }

    #[test]
    fn blocker_owners_follow_the_owner_table() {
        let mut policy = Policy::default();
        policy
            .owners
            .set("insufficient_cpu", Owner::Platform)
            .unwrap();
        let v = unschedulable(300).judge(&policy);
        assert_eq!(v.owner, Owner::Platform);
        assert_eq!(v.blockers[0].owner, Owner::Platform);
    }

    #[test]
    fn an_autoscaler_scale_up_is_converging_scaling_up() {
        let v = unschedulable(300)
            .event(autoscaler(
                "TriggeredScaleUp",
                "pod triggered scale-up: [{general 3->5 (max: 10)}]",
            ))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::ScalingUp, Owner::None)
        );
    }

    #[test]
    fn an_autoscaler_that_cannot_help_blocks_at_once() {
        let v = unschedulable(30)
            .event(autoscaler(
                "NotTriggerScaleUp",
                "pod didn't trigger scale-up: 1 max node group size reached",
            ))
            .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::InsufficientCpu),
                Owner::Infrastructure
            )
        );
        assert!(
            v.summary
                .contains("Cluster autoscaler: pod didn't trigger scale-up"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn an_untolerated_taint_is_named_from_the_nodes() {
        let msg = "0/2 nodes are available: 2 node(s) had untolerated taint(s).";
        let v = cluster(deployment("shop", "checkout").rolling(1, 0))
            .node(node("gpu-1").taint("dedicated", "gpu", "NoSchedule"))
            .node(node("gpu-2").taint("dedicated", "gpu", "NoSchedule"))
            .pod(pod("shop", "checkout-1").unschedulable(msg, ago(300)))
            .event(event("shop", "Pod", "checkout-1", "FailedScheduling", msg).first(ago(300)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::UntoleratedTaint),
                Owner::Platform
            )
        );
        assert_eq!(v.blockers[0].nodes, 2);
    }

    #[test]
    fn a_quota_refusing_the_replica_set_blocks_its_missing_pods() {
        let d = deployment("shop", "checkout").replicas(2).rolling(0, 0);
        let quota = "pods \"checkout-7d4b9-x2\" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8";
        let v = cluster(d)
            .replica_set(|rs| rs.created_pods(0))
            .event(
                event(
                    "shop",
                    "ReplicaSet",
                    "checkout-7d4b9",
                    "FailedCreate",
                    quota,
                )
                .first(ago(300)),
            )
            .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::QuotaExceeded),
                Owner::Platform
            )
        );
        assert_eq!(v.blockers[0].pods, 2);
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl describe resourcequota -n shop")
        );
    }
}
