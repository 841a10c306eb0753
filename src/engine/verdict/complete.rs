//! Complete rollouts: every replica updated and available, so the digests the pods run are
//! compared with the digests their builds pushed.

use super::super::builds::Build;
use super::super::view::{EventInfo, LogState};
use super::containers::DigestJudgement;
use super::pods::is_pull_failure;
use super::{Cause, Ctx, Finding, Outcome, PartialProof, Verdict, wording};

/// Step: a complete rollout is stale when a container runs another digest than its build
/// pushed (after the rollout grace), awaiting its rollout within the grace, verified when every
/// comparable container matches, and complete without proof otherwise.
pub(super) fn judge_complete<'c>(ctx: &'c Ctx<'_>, evidence: &mut Vec<String>) -> Outcome<'c> {
    let d = ctx.d;
    let any_build = ctx.judged.iter().any(|j| j.build.is_some());
    if d.spec_replicas == 0 {
        let cause = if any_build {
            Cause::DigestUnavailable
        } else {
            Cause::NoBuildKnown
        };
        return Outcome::new(Verdict::Complete, cause, Finding::ScaledToZero);
    }
    if ctx.ro.new_pods.is_empty() && ctx.ro.old_pods.is_empty() {
        evidence.push(wording::no_pods_evidence(d));
    }
    let judged = |digest: DigestJudgement| ctx.judged.iter().filter(move |j| j.digest == digest);
    if let Some(j) = judged(DigestJudgement::Mismatch).next() {
        let finding = Finding::Stale {
            container: &j.report,
            build: j.build,
        };
        return Outcome::new(Verdict::Stale, Cause::DigestMismatch, finding);
    }
    if let Some(j) = judged(DigestJudgement::AwaitingRollout).next() {
        let finding = Finding::AwaitingRollout {
            build: j.build,
            grace: ctx.policy.rollout_grace,
        };
        return Outcome::new(Verdict::Converging, Cause::AwaitingRollout, finding);
    }
    let partial = ctx.judged.iter().find_map(|j| match (j.digest, j.build) {
        (DigestJudgement::Partial { proven, local }, Some(b)) => Some(PartialProof {
            container: &j.report.name,
            digest: b.digest.as_ref()?,
            proven,
            local,
        }),
        _ => None,
    });
    let matched = judged(DigestJudgement::Match).count();
    if matched > 0 && partial.is_none() && judged(DigestJudgement::Unavailable).next().is_none() {
        return verified(ctx, matched, evidence);
    }
    if let Some(b) = pending_log(ctx) {
        return Outcome::new(
            Verdict::Converging,
            Cause::DigestPending,
            Finding::DigestPending(b),
        );
    }
    if any_build {
        return Outcome::new(
            Verdict::Complete,
            Cause::DigestUnavailable,
            Finding::DigestUnavailable(partial),
        );
    }
    Outcome::new(
        Verdict::Complete,
        Cause::NoBuildKnown,
        Finding::NoBuildKnown {
            available: d.status.available,
            replicas: d.spec_replicas,
        },
    )
}

/// A build without a digest yet whose log is being read: until it is, no verdict is definite
/// (a fetch that fails for good makes it `digest_unavailable`).
fn pending_log<'c>(ctx: &'c Ctx<'_>) -> Option<&'c Build> {
    ctx.judged
        .iter()
        .filter(|j| j.digest == DigestJudgement::Unavailable)
        .filter_map(|j| j.build)
        .find(|b| {
            b.digest.is_none()
                && matches!(
                    ctx.view.log_state(&b.namespace, &b.pod, &b.container),
                    Some(LogState::Pending)
                )
        })
}

/// Verified: every comparable container runs its build's digest. Pulls of the new pods that
/// failed before the build pushed are evidence of the false alarm this tool exists for: the
/// deploy outran the build, then recovered by itself.
fn verified<'c>(ctx: &'c Ctx<'_>, matched: usize, evidence: &mut Vec<String>) -> Outcome<'c> {
    let build = ctx
        .judged
        .iter()
        .find(|j| j.digest == DigestJudgement::Match)
        .and_then(|j| j.build);
    if let Some(b) = build {
        for p in &ctx.ro.new_pods {
            let events = ctx
                .view
                .events_for(&ctx.d.meta.namespace, "Pod", &p.meta.name);
            let early: Vec<&EventInfo> = events
                .iter()
                .copied()
                .filter(|e| is_pull_failure(e))
                .filter(|e| {
                    b.finished_at
                        .is_some_and(|f| e.last.is_some_and(|l| l <= f))
                })
                .collect();
            evidence.extend(wording::early_pull_evidence(p, &early, b));
        }
    }
    let finding = Finding::Verified {
        build,
        pods: ctx.running_pods.len(),
        matched,
    };
    Outcome::new(Verdict::Verified, Cause::DigestMatch, finding)
}

#[cfg(test)]
mod tests {
    use crate::engine::events::Owner;
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, Policy, Verdict};

    #[test]
    fn verified_when_every_pod_runs_the_digest_the_build_pushed() {
        let v = rolled_out(2, 'a')
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Verified, Cause::DigestMatch, Owner::None)
        );
        assert!(
            v.summary.starts_with("All 2 pods run sha256:aaaaaaaaaaaa"),
            "{}",
            v.summary
        );
        assert_eq!(v.containers[0].digest_match, Some(true));
        assert_eq!(v.next_step, None);
    }

    #[test]
    fn stale_when_the_pods_run_another_digest_after_the_grace() {
        let v = rolled_out(1, 'b')
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Stale, Cause::DigestMismatch, Owner::Platform)
        );
        assert_eq!(v.containers[0].digest_match, Some(false));
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl rollout restart deployment/checkout -n shop")
        );
    }

    #[test]
    fn stale_is_owned_as_the_owner_table_says() {
        let mut policy = Policy::default();
        policy
            .owners
            .set("digest_mismatch", Owner::Application)
            .unwrap();
        let v = rolled_out(1, 'b')
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .judge(&policy);
        assert_eq!(
            outcome(&v),
            (Verdict::Stale, Cause::DigestMismatch, Owner::Application)
        );
    }

    #[test]
    fn awaiting_rollout_while_the_push_is_younger_than_the_grace() {
        let v = rolled_out(1, 'b')
            .image_build(kaniko().succeeded(digest('a'), ago(120)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::AwaitingRollout, Owner::None)
        );
        assert!(v.summary.contains("less than 5m00s ago"), "{}", v.summary);
    }

    #[test]
    fn digest_unavailable_when_the_build_told_no_digest() {
        let v = rolled_out(1, 'a')
            .image_build(kaniko().succeeded_without_digest(ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
    }

    #[test]
    fn digest_pending_while_the_build_log_is_read_then_unavailable_if_it_cannot_be() {
        use crate::engine::view::Change;
        let log = |c: fn(String, String, String) -> Change| {
            rolled_out(1, 'a')
                .pod(pod("shop", "kaniko-1"))
                .image_build(kaniko().succeeded_without_digest(ago(30)))
                .change(c("shop".into(), "kaniko-1".into(), "kaniko".into()))
                .verdict()
        };
        let pending = log(|namespace, pod, container| Change::PodLogPending {
            namespace,
            pod,
            container,
        });
        assert_eq!(
            outcome(&pending),
            (Verdict::Converging, Cause::DigestPending, Owner::None),
            "never a definite verdict while the digest is on its way"
        );
        assert!(
            pending.summary.contains("shop/kaniko-1"),
            "{}",
            pending.summary
        );
        let unavailable = log(|namespace, pod, container| Change::PodLogUnavailable {
            namespace,
            pod,
            container,
            reason: "HTTP 500 after 6 tries".into(),
        });
        assert_eq!(
            outcome(&unavailable),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
    }

    /// Published verdicts are kept until the next judgement: their text holds no spare room
    /// (an evidence line per running pod, each `format!`ed with room to grow).
    #[test]
    fn a_verdict_keeps_its_text_without_spare_room() {
        let id = format!("registry.example.com/shop/checkout@{}", digest('a'));
        let mut c = cluster(deployment("shop", "checkout"))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)));
        for i in 0..5 {
            c = c.pod(pod("shop", &format!("checkout-{i}")).ready().image_id(&id));
        }
        let v = c.verdict();
        assert_eq!(v.verdict, Verdict::Verified, "{:?}", v.evidence);
        assert!(v.evidence.len() > 5, "{:?}", v.evidence);
        assert_eq!(v.evidence.capacity(), v.evidence.len());
        for line in v.evidence.iter().chain([&v.summary]).chain(&v.next_step) {
            assert_eq!(line.capacity(), line.len(), "{line}");
        }
        for c in &v.containers {
            assert_eq!(c.running_digests.capacity(), c.running_digests.len());
        }
    }

    #[test]
    fn digest_unavailable_when_the_runtime_reports_a_node_local_image_id() {
        let local = format!("docker://{}", digest('a'));
        let v = cluster(deployment("shop", "checkout"))
            .pod(pod("shop", "checkout-1").ready().image_id(&local))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
        assert!(v.evidence.iter().any(|e| e.contains("node-local image ID")));
    }

    /// DESIGN §5: partial proof is not proof. Two pods report the built digest, one a bare
    /// node-local image ID (CRI-O 1.28.0–1.28.3 after a restart).
    #[test]
    fn partial_proof_is_digest_unavailable_and_says_how_far_it_goes() {
        let (_, repo) = image_of("shop", "checkout");
        let local = digest('a').to_string()["sha256:".len()..].to_string();
        let v = cluster(deployment("shop", "checkout").replicas(3))
            .pod(
                pod("shop", "checkout-1")
                    .ready()
                    .image_id(&repo_digest(&repo, &digest('a'))),
            )
            .pod(
                pod("shop", "checkout-2")
                    .ready()
                    .image_id(&repo_digest(&repo, &digest('a'))),
            )
            .pod(pod("shop", "checkout-3").ready().image_id(&local))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
        assert_eq!(
            v.summary,
            format!(
                "Rollout complete, but the proof is partial: 2 of 3 pods run {} (container app); 1 reports a node-local image ID or none, which proves nothing.",
                digest('a').short()
            )
        );
        assert_eq!(v.containers[0].digest_match, None, "not judged");
        // A running container that reports no imageID proves nothing either, and with no pod
        // proven the summary still says how far the proof goes.
        let v = cluster(deployment("shop", "checkout").replicas(2))
            .pod(
                pod("shop", "checkout-1")
                    .ready()
                    .image_id(&repo_digest(&repo, &digest('a'))),
            )
            .pod(pod("shop", "checkout-2").ready().image_id(""))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
        assert!(v.summary.contains("1 of 2 pods run"), "{}", v.summary);
        assert!(v.evidence.iter().any(|e| e.contains("reports no imageID")));
        let v = cluster(deployment("shop", "checkout").replicas(2))
            .pod(pod("shop", "checkout-1").ready().image_id(&local))
            .pod(pod("shop", "checkout-2").ready().image_id(&local))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert!(v.summary.contains("0 of 2 pods run"), "{}", v.summary);
        // A comparable digest that differs is stale as before, local IDs or not.
        let v = cluster(deployment("shop", "checkout").replicas(2))
            .pod(
                pod("shop", "checkout-1")
                    .ready()
                    .image_id(&repo_digest(&repo, &digest('b'))),
            )
            .pod(pod("shop", "checkout-2").ready().image_id(&local))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Stale, Cause::DigestMismatch, Owner::Platform)
        );
    }

    #[test]
    fn complete_without_proof_when_no_build_is_known() {
        let v = rolled_out(2, 'a').verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::NoBuildKnown, Owner::None)
        );
        assert!(
            v.summary.contains("2 of 2 replicas available"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn scaled_to_zero_is_complete_without_proof() {
        let v = cluster(deployment("shop", "checkout").replicas(0))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
    }

    #[test]
    fn pulls_that_failed_before_the_push_are_the_false_alarm_evidence() {
        let v = rolled_out(1, 'a')
            .event(
                event(
                    "shop",
                    "Pod",
                    "checkout-1",
                    "Failed",
                    "Failed to pull image \"registry.example.com/shop/checkout:1.8.0\": not found",
                )
                .first(ago(900))
                .last(ago(700)),
            )
            .image_build(kaniko().succeeded(digest('a'), ago(600)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Verified, Cause::DigestMatch, Owner::None)
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("1 image pull failures")
                    && e.contains("the deploy outran the build")),
            "{:#?}",
            v.evidence
        );
    }
}
