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
