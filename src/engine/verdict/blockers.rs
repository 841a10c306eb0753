//! Blockers: reasons that hold pods of the rollout (the ReplicaSet's own failures included),
//! aggregated into the reports of DESIGN §6, and the step that declares them once they persist.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::super::events::{BlockerReason, classify_replica_failure};
use super::super::k8s::EventReason;
use super::super::rollout::Rollout;
use super::super::view::{ClusterView, DeploymentInfo};
use super::pods::{PodState, earliest, latest};
use super::{BlockerReport, Cause, Ctx, Finding, Observed, Outcome, Policy, Verdict};

/// Pods the new ReplicaSet could not create, and why.
#[derive(Debug, Clone)]
pub(super) struct RsBlocker {
    pub(super) reason: BlockerReason,
    pub(super) message: String,
    pub(super) since: Option<Timestamp>,
}

impl RsBlocker {
    fn new(message: &str, since: Option<Timestamp>) -> RsBlocker {
        RsBlocker {
            reason: classify_replica_failure(message),
            message: message.to_string(),
            since,
        }
    }
}

/// FailedCreate on the new ReplicaSet (quota, admission) or the ReplicaFailure condition.
pub(super) fn replica_set_blocker(
    view: &ClusterView,
    d: &DeploymentInfo,
    ro: &Rollout,
) -> Option<RsBlocker> {
    let ns = &d.meta.namespace;
    if let Some(rs) = ro.new_rs {
        let events = view.events_for(ns, "ReplicaSet", &rs.meta.name);
        let failed = latest(&events, &[EventReason::FailedCreate]);
        let created = latest(&events, &[EventReason::SuccessfulCreate]);
        if let Some(f) = failed
            && created.is_none_or(|c| c.last < f.last)
            && (rs.status.replicas < rs.spec_replicas
                || ro.new_pods.len() < rs.spec_replicas as usize)
        {
            return Some(RsBlocker::new(
                &f.message,
                earliest(&events, &[EventReason::FailedCreate]),
            ));
        }
    }
    if let Some(c) = ro.replica_failure {
        return Some(RsBlocker::new(&c.message, c.last_transition));
    }
    let events = view.events_for(ns, "Deployment", &d.meta.name);
    if let Some(e) = latest(&events, &[EventReason::ReplicaSetCreateError])
        && ro.new_rs.is_none()
    {
        return Some(RsBlocker::new(&e.message, e.first));
    }
    None
}

/// DESIGN §6 order, for ties.
fn precedence(r: BlockerReason) -> usize {
    BlockerReason::ALL
        .iter()
        .position(|x| *x == r)
        .unwrap_or(usize::MAX)
}

/// The blockers that persisted (or that an autoscaler declared hopeless).
#[derive(Default)]
struct Tally {
    reports: BTreeMap<BlockerReason, BlockerReport>,
    /// Pods per primary reason (the missing pods of a ReplicaSet blocker included).
    votes: BTreeMap<BlockerReason, u32>,
    /// Pods held by a blocker.
    blocked_pods: u32,
}

impl Tally {
    fn report(
        &mut self,
        reason: BlockerReason,
        message: &str,
        since: Option<Timestamp>,
        policy: &Policy,
    ) -> &mut BlockerReport {
        self.reports.entry(reason).or_insert_with(|| BlockerReport {
            reason,
            owner: policy.owners.owner(Cause::Blocker(reason)),
            pods: 0,
            nodes: 0,
            message: message.to_string(),
            since,
            primary: false,
        })
    }
}

fn tally(ctx: &Ctx<'_>, seen: &Observed<'_>) -> Tally {
    let mut t = Tally::default();
    for (_, state) in &seen.states {
        let PodState::Blocker {
            reasons,
            primary,
            message,
            since,
            definitive,
        } = state
        else {
            continue;
        };
        if !*definitive && !ctx.mature(*since) {
            continue;
        }
        t.blocked_pods += 1;
        *t.votes.entry(*primary).or_default() += 1;
        for (r, nodes) in reasons {
            let e = t.report(*r, message, *since, ctx.policy);
            e.pods += 1;
            e.nodes = e.nodes.max(*nodes);
            if since.is_some() && (e.since.is_none() || *since < e.since) {
                e.since = *since;
            }
        }
    }
    if let Some(b) = &seen.rs_blocker
        && ctx.mature(b.since)
    {
        // Counts come from the input: saturate rather than overflow on absurd replica counts.
        let pods = i32::try_from(ctx.ro.new_pods.len()).unwrap_or(i32::MAX);
        let missing = ctx.d.spec_replicas.saturating_sub(pods).max(1) as u32;
        let votes = t.votes.entry(b.reason).or_default();
        *votes = votes.saturating_add(missing);
        let report = t.report(b.reason, &b.message, b.since, ctx.policy);
        report.pods = report.pods.saturating_add(missing);
    }
    t
}

/// Step: blockers that persisted make the rollout blocked, on the reason that holds most pods
/// (ties: DESIGN §6 order). Not while an autoscaler scales up for pods nothing else holds.
pub(super) fn judge_blockers<'c>(ctx: &Ctx<'_>, seen: &Observed<'_>) -> Option<Outcome<'c>> {
    let mut t = tally(ctx, seen);
    let scaling_up = seen
        .states
        .iter()
        .any(|(_, s)| matches!(s, PodState::Progress(Cause::ScalingUp, _)));
    if scaling_up && t.blocked_pods == 0 && seen.rs_blocker.is_none() {
        return None;
    }
    let primary = t
        .votes
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(precedence(*b.0).cmp(&precedence(*a.0))))
        .map(|(r, _)| *r)?;
    if let Some(b) = t.reports.get_mut(&primary) {
        b.primary = true;
    }
    let mut blockers: Vec<BlockerReport> = t.reports.into_values().collect();
    blockers.sort_by(|a, b| {
        b.primary
            .cmp(&a.primary)
            .then(b.pods.cmp(&a.pods))
            .then(a.reason.cmp(&b.reason))
    });
    let pod = seen
        .states
        .iter()
        .find(|(_, s)| matches!(s, PodState::Blocker { primary: x, .. } if *x == primary))
        .map(|(p, _)| p.meta.name.clone());
    Some(Outcome::new(
        Verdict::Blocked,
        Cause::Blocker(primary),
        Finding::Blocked {
            primary,
            blockers,
            pod,
        },
    ))
}

#[cfg(test)]
mod tests {
    use crate::engine::events::{BlockerReason, Owner};
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, DeploymentVerdict, Policy, Verdict};

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

    /// Before v1.34.2 the scheduler names each distinct taint: on a large cluster its message
    /// is longer than what a verdict quotes (4 KiB). The reasons are decoded from the whole
    /// message (`Insufficient cpu` sorts after the taints), and the quote is cut after.
    #[test]
    fn a_long_scheduler_message_is_decoded_whole_and_quoted_cut() {
        let taints: String = (0..100)
            .map(|i| format!("1 node(s) had untolerated taint {{team-{i:03}: dedicated}}, "))
            .collect();
        let msg = format!(
            "0/400 nodes are available: {taints}300 Insufficient cpu. preemption: 0/400 nodes are available: 400 No preemption victims found for incoming pod."
        );
        assert!(msg.len() > crate::engine::text::MAX_QUOTE + 1000);
        let v = cluster(deployment("shop", "checkout").rolling(1, 0))
            .pod(pod("shop", "checkout-1").unschedulable(&msg, ago(300)))
            .event(event("shop", "Pod", "checkout-1", "FailedScheduling", &msg).first(ago(300)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::InsufficientCpu),
                Owner::Infrastructure
            )
        );
        assert_eq!(
            (v.blockers[0].reason, v.blockers[0].nodes),
            (BlockerReason::InsufficientCpu, 300)
        );
        let quoted = v
            .blockers
            .iter()
            .map(|b| &b.message)
            .chain(&v.evidence)
            .chain([&v.summary]);
        for q in quoted {
            assert!(
                q.len() <= crate::engine::text::MAX_QUOTE + 3,
                "{} bytes",
                q.len()
            );
        }
        assert!(v.blockers.iter().any(|b| b.message.ends_with('…')));
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

    /// v1.35 gives both pods the same text: the taint is reported for the tainted node
    /// before its labels are compared with the selector (captured on kube-scheduler v1.35.4).
    const TAINT_HIDES_SELECTOR: &str = "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint(s). no new claims to deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";

    fn taint_and_pool(p: PodBuilder) -> DeploymentVerdict {
        hidden_selector(
            cluster(deployment("shop", "checkout").rolling(1, 0))
                .node(node("worker-1").label("pool", "general"))
                .node(node("infra-1").label("pool", "infra").taint(
                    "dedicated",
                    "infra",
                    "NoSchedule",
                )),
            p,
        )
    }

    /// `p` unschedulable with [`TAINT_HIDES_SELECTOR`] in `c` (with or without its nodes).
    fn hidden_selector(c: Cluster, p: PodBuilder) -> DeploymentVerdict {
        c.pod(p.unschedulable(TAINT_HIDES_SELECTOR, ago(300)))
            .event(
                event(
                    "shop",
                    "Pod",
                    "checkout-1",
                    "FailedScheduling",
                    TAINT_HIDES_SELECTOR,
                )
                .first(ago(300)),
            )
            .verdict()
    }

    #[test]
    fn a_selector_of_the_tainted_pool_is_blocked_by_the_taint() {
        let v = taint_and_pool(pod("shop", "checkout-1").node_selector("pool", "infra"));
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::UntoleratedTaint),
                Owner::Platform
            )
        );
    }

    #[test]
    fn a_selector_matching_no_node_is_the_applications_even_when_a_taint_hides_it() {
        let v = taint_and_pool(pod("shop", "checkout-1").node_selector("pool", "gpu"));
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::NodeAffinityMismatch),
                Owner::Application
            )
        );
        // Every reason of the text is still listed.
        assert_eq!(v.blockers.len(), 2, "{:?}", v.blockers);
    }

    /// Without the nodes (`--no-nodes`, or a 403 on Nodes) the two cases cannot be told apart:
    /// the message's reason stands, and the summary says it was not checked.
    #[test]
    fn without_the_nodes_a_hidden_selector_is_undecided_and_says_so() {
        let v = hidden_selector(
            cluster(deployment("shop", "checkout").rolling(1, 0)),
            pod("shop", "checkout-1").node_selector("pool", "infra"),
        );
        assert_eq!(v.verdict, Verdict::Blocked);
        assert!(
            v.summary.contains("undecided without the nodes"),
            "{}",
            v.summary
        );
        // With the nodes, nothing is undecided.
        let decided = taint_and_pool(pod("shop", "checkout-1").node_selector("pool", "infra"));
        assert!(
            !decided.summary.contains("undecided"),
            "{}",
            decided.summary
        );
    }

    #[test]
    fn a_cordoned_node_hides_the_selector_the_same_way() {
        let msg = "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable.";
        let verdict = |selector: &str| {
            cluster(deployment("shop", "checkout").rolling(1, 0))
                .node(node("worker-1").label("pool", "general"))
                .node(node("old-1").label("pool", "legacy").cordoned())
                .pod(
                    pod("shop", "checkout-1")
                        .node_selector("pool", selector)
                        .unschedulable(msg, ago(300)),
                )
                .event(event("shop", "Pod", "checkout-1", "FailedScheduling", msg).first(ago(300)))
                .verdict()
        };
        assert_eq!(
            verdict("legacy").cause,
            Cause::Blocker(BlockerReason::NodesUnschedulable)
        );
        assert_eq!(
            verdict("gpu").cause,
            Cause::Blocker(BlockerReason::NodeAffinityMismatch)
        );
    }

    /// The text names a taint, but the nodes the pod selects are cordoned or not ready: the
    /// taint of another pool hid the node's own problem (found on a v1.35.4 control plane).
    #[test]
    fn a_selected_pool_that_is_cordoned_or_not_ready_is_infrastructures_despite_a_taint_elsewhere()
    {
        let msg = "0/4 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.";
        let verdict = |selector: &str| {
            cluster(deployment("shop", "checkout").rolling(1, 0))
                .node(node("worker-1").label("pool", "general"))
                .node(node("infra-1").label("pool", "infra").taint(
                    "dedicated",
                    "infra",
                    "NoSchedule",
                ))
                .node(node("old-1").label("pool", "legacy").cordoned())
                .node(node("edge-1").label("pool", "edge").not_ready().taint(
                    "node.kubernetes.io/not-ready",
                    "",
                    "NoSchedule",
                ))
                .pod(
                    pod("shop", "checkout-1")
                        .node_selector("pool", selector)
                        .unschedulable(msg, ago(300)),
                )
                .event(event("shop", "Pod", "checkout-1", "FailedScheduling", msg).first(ago(300)))
                .verdict()
        };
        for (selector, reason, owner) in [
            (
                "legacy",
                BlockerReason::NodesUnschedulable,
                Owner::Infrastructure,
            ),
            (
                "edge",
                BlockerReason::NodesUnschedulable,
                Owner::Infrastructure,
            ),
            ("infra", BlockerReason::UntoleratedTaint, Owner::Platform),
            (
                "gpu",
                BlockerReason::NodeAffinityMismatch,
                Owner::Application,
            ),
        ] {
            let v = verdict(selector);
            assert_eq!(
                outcome(&v),
                (Verdict::Blocked, Cause::Blocker(reason), owner),
                "pool={selector}"
            );
        }
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
            Some(
                "The namespace's ResourceQuota is exhausted: raise it or free resources: kubectl describe resourcequota -n shop"
            )
        );
    }
}
