//! Incomplete rollouts that no failure or blocker decided: past their progress deadline with
//! nothing moving, without pods, or converging on something to wait for.

use super::super::view::{Condition, condition};
use super::pods::PodState;
use super::{Cause, Ctx, Finding, Observed, Outcome, Verdict, Waiting, age, wording};

/// Step: a rollout past its progress deadline fails when nothing moves any more and nothing
/// younger is pending (a problem younger than `--blocked-after` may still be declared).
pub(super) fn judge_deadline<'c>(
    ctx: &'c Ctx<'_>,
    seen: &Observed<'_>,
    evidence: &mut Vec<String>,
) -> Option<Outcome<'c>> {
    let c = ctx.ro.deadline_exceeded?;
    evidence.push(wording::deadline_evidence(ctx.d, c));
    if live_progress(ctx, seen, c) || seen.young_problems() {
        return None;
    }
    Some(Outcome::new(
        Verdict::Failed,
        Cause::ProgressDeadlineExceeded,
        Finding::DeadlineExceeded(c),
    ))
}

/// Something moves despite the deadline: a pull or a scale-up in flight, or a new pod that
/// became ready after the deadline passed.
fn live_progress(ctx: &Ctx<'_>, seen: &Observed<'_>, deadline: &Condition) -> bool {
    seen.states.iter().any(|(_, s)| {
        matches!(
            s,
            PodState::Progress(Cause::PullingImage | Cause::ScalingUp, _)
        )
    }) || ctx.ro.new_pods.iter().any(|p| {
        condition(&p.conditions, "Ready")
            .is_some_and(|r| r.is_true() && r.last_transition > deadline.last_transition)
    })
}

/// Step: no pod of the new ReplicaSet and nothing that says why: converging while the rollout
/// has just begun (or its spec is not yet observed), unknown after `--blocked-after`.
pub(super) fn judge_no_pods<'c>(ctx: &'c Ctx<'_>, seen: &Observed<'_>) -> Option<Outcome<'c>> {
    let d = ctx.d;
    if !ctx.ro.new_pods.is_empty() || seen.rs_blocker.is_some() || d.spec_replicas <= 0 {
        return None;
    }
    let recent = condition(&d.conditions, "Progressing")
        .and_then(|c| c.last_update.or(c.last_transition))
        .or(d.meta.created);
    let status = ctx.ro.status_line.as_str();
    // A spec the Deployment controller has not observed yet is a rollout just begun, but not
    // for ever: unobserved for longer than --blocked-after, the controller is not acting
    // (kube-controller-manager stopped, or the Deployment paused mid-update by a webhook).
    let just_started = age(ctx.now, recent).is_none_or(|a| a < ctx.policy.blocked_after);
    Some(if just_started {
        Outcome::new(
            Verdict::Converging,
            Cause::RolloutProgressing,
            Finding::JustStarted { status },
        )
    } else if d.generation > d.observed_generation {
        Outcome::new(
            Verdict::Unknown,
            Cause::NoPods,
            Finding::Unobserved {
                generation: d.generation,
                observed: d.observed_generation,
                since: recent,
            },
        )
    } else {
        Outcome::new(Verdict::Unknown, Cause::NoPods, Finding::NoPods { status })
    })
}

/// Step: converging, on what the new pods wait for (a scale-up, a pull, containers starting).
pub(super) fn judge_progress<'c>(ctx: &'c Ctx<'_>, seen: &Observed<'_>) -> Outcome<'c> {
    let cause = [Cause::ScalingUp, Cause::PullingImage, Cause::Starting]
        .into_iter()
        .find(|c| {
            seen.states
                .iter()
                .any(|(_, s)| matches!(s, PodState::Progress(x, _) if x == c))
        })
        .unwrap_or(Cause::RolloutProgressing);
    let ready = seen
        .states
        .iter()
        .filter(|(_, s)| matches!(s, PodState::Ready))
        .count();
    let finding = Finding::Waiting(Waiting {
        cause,
        ready,
        replicas: ctx.d.spec_replicas,
        young_problems: seen.young_problems(),
        blocked_after: ctx.policy.blocked_after,
        status: &ctx.ro.status_line,
    });
    Outcome::new(Verdict::Converging, cause, finding)
}

#[cfg(test)]
mod tests {
    use crate::engine::events::Owner;
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, Verdict};

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

    /// A spec the Deployment controller never observes (kube-controller-manager stopped) is
    /// not "just started" for ever: unknown after --blocked-after, saying so.
    #[test]
    fn a_spec_unobserved_for_long_is_unknown_and_names_the_controller() {
        let d = deployment("shop", "checkout")
            .rolling(0, 0)
            .created(ago(86400))
            .generations(2, 1);
        let v = cluster(d).verdict();
        assert_eq!(outcome(&v), (Verdict::Unknown, Cause::NoPods, Owner::None));
        assert!(
            v.summary
                .contains("has not observed generation 2 (the status is of generation 1)"),
            "{}",
            v.summary
        );
        assert!(
            v.summary.contains("kube-controller-manager"),
            "{}",
            v.summary
        );
        // Just updated: still a rollout that has just begun.
        let young = deployment("shop", "checkout")
            .rolling(0, 0)
            .created(ago(30))
            .generations(2, 1);
        assert_eq!(
            outcome(&cluster(young).verdict()),
            (Verdict::Converging, Cause::RolloutProgressing, Owner::None)
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
}
