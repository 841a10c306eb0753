//! Whole-verdict tests: synchronisation, deletion, owners and exit codes.

use super::*;
use crate::engine::view::{Change, Kind, Object};

fn deployment(json: serde_json::Value) -> Object {
    let d: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(json).unwrap();
    Object::Deployment(DeploymentInfo::try_from(&d).unwrap())
}

fn shop_checkout() -> Object {
    deployment(serde_json::json!({
        "metadata": {"name": "checkout", "namespace": "shop", "uid": "u1", "generation": 2,
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 2, "selector": {}, "template": {"spec": {"containers": [
            {"name": "checkout", "image": "registry.example.com/shop/checkout:1.8.0"}]}}},
        "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}
    }))
}

fn now() -> Timestamp {
    "2026-11-20T10:15:00Z".parse().unwrap()
}

#[test]
fn not_synced_until_every_kind_is_listed() {
    let mut view = ClusterView::new();
    view.apply(Change::Apply(shop_checkout()));
    for k in &Kind::ALL[..5] {
        view.apply(Change::Synced(*k));
    }
    let v = judge_all(&view, &[], &Policy::default(), now());
    assert_eq!(
        (v[0].verdict, v[0].cause),
        (Verdict::Unknown, Cause::NotSynced)
    );
    assert!(v[0].summary.contains("Job"), "{}", v[0].summary);
    view.apply(Change::Synced(Kind::Job));
    let v = judge_all(&view, &[], &Policy::default(), now());
    // status says complete but no pods are known: complete without proof
    assert_eq!(
        (v[0].verdict, v[0].cause),
        (Verdict::Complete, Cause::NoBuildKnown)
    );
    assert!(v[0].evidence.iter().any(|e| e.contains("no pods")));
}

#[test]
fn a_forbidden_kind_is_unknown_forbidden_until_listed() {
    let mut view = ClusterView::new();
    view.apply(Change::Apply(shop_checkout()));
    for k in &Kind::ALL[..5] {
        view.apply(Change::Synced(*k));
    }
    view.apply(Change::Forbidden(Kind::Job));
    let v = judge_all(&view, &[], &Policy::default(), now());
    assert_eq!(
        (v[0].verdict, v[0].cause),
        (Verdict::Unknown, Cause::Forbidden)
    );
    assert!(v[0].next_step.is_some());
    view.apply(Change::Synced(Kind::Job));
    assert_ne!(
        judge_all(&view, &[], &Policy::default(), now())[0].cause,
        Cause::Forbidden
    );
}

#[test]
fn generation_not_observed_is_converging_not_complete() {
    let mut view = ClusterView::new();
    let Object::Deployment(mut d) = shop_checkout() else {
        unreachable!()
    };
    d.generation = 3;
    d.meta.created = Some(now());
    view.apply(Change::Apply(Object::Deployment(d)));
    for k in Kind::ALL {
        view.apply(Change::Synced(k));
    }
    let v = judge_all(&view, &[], &Policy::default(), now());
    assert_eq!(
        (v[0].verdict, v[0].cause),
        (Verdict::Converging, Cause::RolloutProgressing)
    );
    assert_eq!(v[0].owner, Owner::None);
}

#[test]
fn deleting_an_object_removes_its_verdict() {
    let mut view = ClusterView::new();
    view.apply(Change::Apply(shop_checkout()));
    view.apply(Change::Delete(
        Kind::Deployment,
        ("shop".into(), "checkout".into()),
    ));
    assert!(judge_all(&view, &[], &Policy::default(), now()).is_empty());
}

#[test]
fn owner_table_rejects_unknown_causes_and_overrides_known_ones() {
    let mut t = OwnerTable::default();
    assert!(t.set("made_up", Owner::Platform).is_err());
    assert!(t.set("verified", Owner::Platform).is_err());
    t.set("insufficient_cpu", Owner::Platform).unwrap();
    t.set("digest_mismatch", Owner::Application).unwrap();
    assert_eq!(
        t.owner(Cause::Blocker(BlockerReason::InsufficientCpu)),
        Owner::Platform
    );
    assert_eq!(t.owner(Cause::DigestMismatch), Owner::Application);
    assert_eq!(
        t.owner(Cause::Blocker(BlockerReason::InsufficientMemory)),
        Owner::Infrastructure
    );
}

#[test]
fn exit_codes_per_verdict() {
    assert_eq!(Verdict::Verified.exit_code(), 0);
    assert_eq!(Verdict::Complete.exit_code(), 0);
    assert_eq!(Verdict::Converging.exit_code(), 3);
    assert_eq!(Verdict::Unknown.exit_code(), 3);
    for v in [Verdict::Stale, Verdict::Blocked, Verdict::Failed] {
        assert_eq!(v.exit_code(), 4);
        assert!(v.is_terminal());
    }
    assert!(!Verdict::Converging.is_terminal());
}

mod progress {
    use crate::engine::events::Owner;
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, Verdict};
    use crate::engine::view::Kind;

    /// `shop/checkout` past its progress deadline (a minute ago) with one new pod.
    fn past_deadline(p: PodBuilder) -> Cluster {
        cluster(
            deployment("shop", "checkout")
                .replicas(2)
                .rolling(1, 1)
                .deadline_exceeded(ago(60)),
        )
        .pod(p)
    }

    #[test]
    fn a_rollout_past_its_deadline_with_nothing_moving_is_failed() {
        let v = past_deadline(pod("shop", "checkout-1").waiting("ContainerCreating")).verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Failed,
                Cause::ProgressDeadlineExceeded,
                Owner::Application
            )
        );
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl describe deployment -n shop checkout")
        );
    }

    #[test]
    fn a_rollout_past_its_deadline_still_pulling_is_converging() {
        let v = past_deadline(pod("shop", "checkout-1").waiting("ContainerCreating"))
            .event(event("shop", "Pod", "checkout-1", "Pulling", "Pulling image").last(ago(5)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::PullingImage, Owner::None)
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("Progressing=False ProgressDeadlineExceeded"))
        );
    }

    #[test]
    fn a_pod_ready_after_the_deadline_is_live_progress() {
        let v = past_deadline(pod("shop", "checkout-1").ready_since(ago(30)))
            .pod(pod("shop", "checkout-2").waiting("ContainerCreating"))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::Starting, Owner::None)
        );
        assert_eq!(
            v.summary,
            "1 of 2 new pods ready, the others are starting; wait."
        );
    }

    #[test]
    fn no_pods_long_after_the_rollout_began_is_unknown() {
        let v = cluster(deployment("shop", "checkout").rolling(0, 0)).verdict();
        assert_eq!(outcome(&v), (Verdict::Unknown, Cause::NoPods, Owner::None));
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl get rs,pods -n shop -o wide")
        );
    }

    #[test]
    fn no_pods_just_after_the_rollout_began_is_converging() {
        let v = cluster(
            deployment("shop", "checkout")
                .rolling(0, 0)
                .created(ago(30)),
        )
        .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::RolloutProgressing, Owner::None)
        );
        assert!(
            v.summary.starts_with("The rollout has just started"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn not_synced_while_a_kind_is_still_listing() {
        let v = cluster(deployment("shop", "checkout"))
            .pod(pod("shop", "checkout-1").ready())
            .unsynced(Kind::Event)
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Unknown, Cause::NotSynced, Owner::None)
        );
        assert_eq!(v.summary, "Not judged yet: still listing Event.");
        assert!(v.containers.is_empty() && v.evidence.is_empty());
    }
}
