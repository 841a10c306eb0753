//! Whole-verdict tests: synchronisation (`judge_sync`), deletion, owners and exit codes.

use super::*;
use crate::engine::testing::{self as t, cluster, outcome, pod};
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

#[test]
fn not_synced_while_a_kind_is_still_listing() {
    let v = cluster(t::deployment("shop", "checkout"))
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
