//! Rollout completeness and progress: takes a Deployment with its ReplicaSets and pods, returns
//! which ReplicaSet is new, which pods belong to it, and whether `kubectl rollout status` would
//! call the rollout finished.

use super::view::{ClusterView, Condition, DeploymentInfo, PodInfo, ReplicaSetInfo, condition};

/// A Deployment's rollout as `kubectl rollout status` sees it, plus the objects behind it.
#[derive(Debug)]
pub struct Rollout<'a> {
    pub new_rs: Option<&'a ReplicaSetInfo>,
    pub old_rs: Vec<&'a ReplicaSetInfo>,
    /// Pods of the new ReplicaSet (all pods when no ReplicaSet is known), not terminating.
    pub new_pods: Vec<&'a PodInfo>,
    /// Pods of older ReplicaSets and terminating pods.
    pub old_pods: Vec<&'a PodInfo>,
    /// kubectl's rule: observed generation current, every replica updated and available, no old
    /// replicas left.
    pub complete: bool,
    /// What kubectl would print while waiting, or its success line.
    pub status_line: String,
    /// `Progressing=False` with reason `ProgressDeadlineExceeded`.
    pub deadline_exceeded: Option<&'a Condition>,
    /// `ReplicaFailure=True` on the Deployment or its new ReplicaSet.
    pub replica_failure: Option<&'a Condition>,
}

impl Rollout<'_> {
    /// When the rollout started: the creation time of its new ReplicaSet.
    pub fn started_at(&self) -> Option<jiff::Timestamp> {
        self.new_rs.and_then(|r| r.meta.created)
    }
}

fn owned_by(meta_owners: &[super::view::OwnerRef], kind: &str, name: &str, uid: &str) -> bool {
    meta_owners
        .iter()
        .any(|o| o.kind == kind && (o.uid == uid && !uid.is_empty() || o.name == name))
}

/// The pods of the new ReplicaSet that are not being deleted, and the others of the rollout
/// (old ReplicaSets, or deleting), in name order.
fn pods_by_replicaset<'a>(
    view: &'a ClusterView,
    d: &'a DeploymentInfo,
    rses: &[&ReplicaSetInfo],
    new_rs: Option<&ReplicaSetInfo>,
    old_rs: &[&ReplicaSetInfo],
) -> (Vec<&'a PodInfo>, Vec<&'a PodInfo>) {
    let ns = d.meta.namespace.as_str();
    let mut new_pods = Vec::new();
    let mut old_pods = Vec::new();
    // Without ReplicaSets (a partial dump), every pod of the namespace is a candidate.
    let candidates: Vec<&PodInfo> = if rses.is_empty() {
        view.pods_in(ns).collect()
    } else {
        view.pods_of(ns, rses)
    };
    for p in candidates {
        let in_new = new_rs
            .is_some_and(|n| owned_by(&p.meta.owners, "ReplicaSet", &n.meta.name, &n.meta.uid));
        let in_old = old_rs
            .iter()
            .any(|r| owned_by(&p.meta.owners, "ReplicaSet", &r.meta.name, &r.meta.uid));
        // Without ReplicaSets (a partial dump), a pod named after the Deployment's template hash.
        let orphan = rses.is_empty()
            && p.pod_template_hash.as_ref().is_some_and(|h| {
                p.meta
                    .owners
                    .iter()
                    .any(|o| o.kind == "ReplicaSet" && o.name == format!("{}-{h}", d.meta.name))
            });
        let in_new = in_new || orphan;
        if in_new && !p.meta.deleting {
            new_pods.push(p);
        } else if in_new || in_old {
            old_pods.push(p);
        }
    }

    (new_pods, old_pods)
}

/// Analyses one Deployment.
pub fn analyse<'a>(view: &'a ClusterView, d: &'a DeploymentInfo) -> Rollout<'a> {
    let ns = d.meta.namespace.as_str();
    let mut rses: Vec<&ReplicaSetInfo> = view
        .replicasets_in(ns)
        .filter(|r| owned_by(&r.meta.owners, "Deployment", &d.meta.name, &d.meta.uid))
        .collect();
    // The new ReplicaSet carries the Deployment's revision; without annotations, the newest.
    rses.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then(a.meta.created.cmp(&b.meta.created))
            .then(a.meta.name.cmp(&b.meta.name))
    });
    let new_rs = match d.revision {
        Some(rev) => rses.iter().rev().find(|r| r.revision == Some(rev)).copied(),
        None => None,
    }
    .or_else(|| rses.last().copied());
    let old_rs: Vec<&ReplicaSetInfo> = rses
        .iter()
        .copied()
        .filter(|r| new_rs.is_none_or(|n| !std::ptr::eq(*r, n)))
        .collect();

    let (new_pods, old_pods) = pods_by_replicaset(view, d, &rses, new_rs, &old_rs);

    let s = &d.status;
    let spec = d.spec_replicas;
    let name = &d.meta.name;
    let deadline_exceeded = condition(&d.conditions, "Progressing")
        .filter(|c| c.reason == "ProgressDeadlineExceeded" && c.status == "False");
    let (complete, status_line) = if d.generation > d.observed_generation {
        (
            false,
            "Waiting for deployment spec update to be observed...".to_string(),
        )
    } else if s.updated < spec {
        (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} out of {spec} new replicas have been updated...",
                s.updated
            ),
        )
    } else if s.replicas > s.updated {
        (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
                s.replicas.saturating_sub(s.updated)
            ),
        )
    } else if s.available < s.updated {
        (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} of {} updated replicas are available...",
                s.available, s.updated
            ),
        )
    } else {
        (
            true,
            format!("deployment \"{name}\" successfully rolled out"),
        )
    };
    let replica_failure = condition(&d.conditions, "ReplicaFailure")
        .filter(|c| c.is_true())
        .or_else(|| {
            new_rs.and_then(|r| condition(&r.conditions, "ReplicaFailure").filter(|c| c.is_true()))
        });
    Rollout {
        new_rs,
        old_rs,
        new_pods,
        old_pods,
        complete,
        status_line,
        deadline_exceeded,
        replica_failure,
    }
}
