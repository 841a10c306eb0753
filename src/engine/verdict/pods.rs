//! Pods: what one pod of the rollout shows (ready, moving, blocked or failing), from its
//! conditions, container states and events. Each step looks at one thing and returns as soon as
//! it knows; ages are judged by the caller (`--blocked-after`).

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::super::events::{
    BlockerReason, MountFailure, ReasonCount, SchedulingFailure, classify_image_pull,
    classify_karpenter_failure, classify_mount, is_node_condition_taint, parse_failed_scheduling,
};
use super::super::image::ImageRef;
use super::super::k8s::{EventReason, PodPhase};
use super::super::registry::{self, TagAnswer};
use super::super::view::{
    ClusterView, Condition, ContainerSpec, ContainerState, ContainerStatus, EventInfo, NodeInfo,
    Placement, PodInfo, condition,
};
use super::{Cause, Ctx, Finding, Observed, Outcome, Verdict, wording};

/// What one pod of the rollout shows.
#[derive(Debug, Clone)]
pub(super) enum PodState {
    Ready,
    /// Moving: pulling, starting, a scale-up in flight, not yet tried.
    Progress(Cause, String),
    /// A blocker reason (with every scheduling reason and its node count).
    Blocker {
        reasons: Vec<(BlockerReason, u32)>,
        primary: BlockerReason,
        message: String,
        since: Option<Timestamp>,
        /// The autoscaler said it cannot help: no need to wait `blocked_after`.
        definitive: bool,
    },
    /// The application fails.
    Failure {
        cause: Cause,
        message: String,
        since: Option<Timestamp>,
    },
}

impl PodState {
    /// One blocker reason, to be judged by its age.
    fn blocked(reason: BlockerReason, message: String, since: Option<Timestamp>) -> PodState {
        PodState::Blocker {
            reasons: vec![(reason, 0)],
            primary: reason,
            message,
            since,
            definitive: false,
        }
    }
}

/// The latest event with one of these reasons for the pod.
pub(super) fn latest<'a>(
    events: &[&'a EventInfo],
    reasons: &[EventReason],
) -> Option<&'a EventInfo> {
    events
        .iter()
        .rev()
        .find(|e| reasons.contains(&e.kind))
        .copied()
}

/// The earliest first-seen time of the events with one of these reasons.
pub(super) fn earliest(events: &[&EventInfo], reasons: &[EventReason]) -> Option<Timestamp> {
    events
        .iter()
        .filter(|e| reasons.contains(&e.kind))
        .filter_map(|e| e.first)
        .min()
}

/// The kubelet's event for a failed image pull.
pub(super) fn is_pull_failure(e: &EventInfo) -> bool {
    e.kind == EventReason::Failed && e.message.starts_with("Failed to pull image")
}

/// What one pod of the rollout shows at `now`. Ages are judged by the caller
/// (`--blocked-after`); an autoscaler's scale-up counts for `scale_up_window`.
pub(super) fn pod_state(
    view: &ClusterView,
    p: &PodInfo,
    nodes: &[&NodeInfo],
    now: Timestamp,
    scale_up_window: jiff::SignedDuration,
) -> PodState {
    if p.is_ready() {
        return PodState::Ready;
    }
    let events = view.events_for(&p.meta.namespace, "Pod", &p.meta.name);
    let scheduled = condition(&p.conditions, "PodScheduled");
    if p.node_name.is_none() && scheduled.is_none_or(|c| !c.is_true()) {
        let autoscaler = Autoscaler::read(&events, now, scale_up_window);
        return unscheduled_state(
            &events,
            scheduled,
            nodes,
            p.placement.as_deref(),
            &autoscaler,
        );
    }
    scheduled_state(p, &events)
}

/// What the autoscalers said about a pending pod, read by DESIGN §6's rule. The scheduler keeps
/// re-emitting FailedScheduling while a node is being added, so the autoscaler's one
/// `TriggeredScaleUp` (or Karpenter's `Nominated`) is usually older than the latest repeat: it
/// counts when it came after the *start* of the current FailedScheduling streak and is younger
/// than the scale-up window, and no `NotTriggerScaleUp` came after it.
pub(super) struct Autoscaler<'a> {
    /// The latest scale-up (TriggeredScaleUp or Nominated) within the streak.
    pub scale_up: Option<&'a EventInfo>,
    /// The scale-up is younger than the window and nothing refused after it: wait.
    pub in_progress: bool,
    /// A `NotTriggerScaleUp` after the latest scale-up: blocked without waiting.
    pub refused: Option<&'a EventInfo>,
    /// The scale-up is older than the window and the pod is still pending: it did not help.
    pub expired: bool,
    /// Karpenter nominations in the streak (repeats of `Nominated` for new node claims), and
    /// the first one's time.
    pub nominations: i32,
    pub first_nomination: Option<Timestamp>,
}

impl<'a> Autoscaler<'a> {
    fn read(events: &[&'a EventInfo], now: Timestamp, window: jiff::SignedDuration) -> Self {
        let streak_start = earliest(events, &[EventReason::FailedScheduling]);
        let in_streak = |e: &&&EventInfo| {
            streak_start.is_none_or(|s| e.last.or(e.first).is_some_and(|t| t >= s))
        };
        let scale_ups: Vec<&EventInfo> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventReason::TriggeredScaleUp | EventReason::Nominated
                )
            })
            .filter(in_streak)
            .copied()
            .collect();
        let scale_up = scale_ups.iter().copied().max_by_key(|e| e.last.or(e.first));
        let up_at = scale_up.and_then(|e| e.last.or(e.first));
        let refused = events
            .iter()
            .filter(|e| e.kind == EventReason::NotTriggerScaleUp)
            .filter(in_streak)
            .filter(|e| {
                let at = e.last.or(e.first);
                up_at.is_none_or(|u| at.is_some_and(|a| a > u))
            })
            .copied()
            .max_by_key(|e| e.last.or(e.first));
        let young = up_at.is_some_and(|u| now.duration_since(u) <= window);
        let nominated: Vec<&EventInfo> = scale_ups
            .iter()
            .copied()
            .filter(|e| e.kind == EventReason::Nominated)
            .collect();
        Autoscaler {
            scale_up,
            in_progress: scale_up.is_some() && young && refused.is_none(),
            refused,
            expired: scale_up.is_some() && !young && refused.is_none(),
            nominations: nominated
                .iter()
                .fold(0i32, |n, e| n.saturating_add(e.count.max(1))),
            first_nomination: nominated.iter().filter_map(|e| e.first.or(e.last)).min(),
        }
    }

    /// True when Karpenter, not cluster-autoscaler, spoke about the pod.
    pub fn karpenter(&self) -> bool {
        self.nominations > 0
    }
}

/// A pod not bound to a node: gated, waiting for a scale-up, or blocked by the scheduler.
fn unscheduled_state(
    events: &[&EventInfo],
    scheduled: Option<&Condition>,
    nodes: &[&NodeInfo],
    placement: Option<&Placement>,
    autoscaler: &Autoscaler<'_>,
) -> PodState {
    if let Some(c) = scheduled
        && c.reason == "SchedulingGated"
    {
        return PodState::blocked(
            BlockerReason::Other,
            c.message.to_string(),
            c.last_transition,
        );
    }
    let last_fs = latest(events, &[EventReason::FailedScheduling]);
    if autoscaler.in_progress
        && let Some(up) = autoscaler.scale_up
    {
        return PodState::Progress(Cause::ScalingUp, wording::scale_up_message(up, autoscaler));
    }
    let Some((failure, message)) = scheduling_failure(last_fs, scheduled, nodes) else {
        return PodState::Progress(Cause::RolloutProgressing, "waiting to be scheduled".into());
    };
    let since = earliest(events, &[EventReason::FailedScheduling])
        .or(scheduled.and_then(|c| c.last_transition));
    let (reasons, primary, undecided) = match &failure {
        Some(f) if !f.reasons.is_empty() => {
            let (primary, undecided) = unmask(
                f.primary().unwrap_or(BlockerReason::Other),
                f,
                nodes,
                placement,
            );
            (
                f.reasons.iter().map(|r| (r.reason, r.nodes)).collect(),
                primary,
                undecided,
            )
        }
        _ => (vec![(BlockerReason::Other, 0)], BlockerReason::Other, false),
    };
    let message = if undecided {
        format!(
            "{message} (undecided without the nodes: a taint or cordon may hide whether the pod's node selector matches any node; the reason and owner are the message's, not checked)"
        )
    } else {
        message
    };
    let definitive = autoscaler.refused.is_some();
    let message = match (autoscaler.refused, autoscaler.scale_up) {
        (Some(n), _) => wording::with_autoscaler_message(&message, n),
        (None, Some(up)) if autoscaler.expired => {
            wording::with_expired_scale_up(&message, up, autoscaler)
        }
        _ => message,
    };
    PodState::Blocker {
        reasons,
        primary,
        message,
        since,
        definitive,
    }
}

/// The scheduler counts each node once, under the first filter it fails (v1.35's order:
/// NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
/// volumes, PodTopologySpread, InterPodAffinity), so a tainted or cordoned node hides whether the
/// pod's node selector would have matched it, and the text does not say which nodes were
/// cordoned or tainted by what. When the text's primary reason is such an exclusion next to a
/// node-affinity mismatch, the objects decide, from the nodes the pod's `nodeSelector` and
/// required node affinity select:
/// - none: removing the taint would not help; the application's `node_affinity_mismatch`;
/// - all cordoned, or kept away only by node-condition taints (not-ready, unreachable,
///   pressure): `nodes_unschedulable` (infrastructure);
/// - any with a taint of another key: `untolerated_taint` (platform).
///
/// Without the nodes (`--no-nodes`) or with `matchFields`, the text's primary reason stays, and
/// the second value says the case was undecided (the message says so).
fn unmask(
    primary: BlockerReason,
    failure: &SchedulingFailure,
    nodes: &[&NodeInfo],
    placement: Option<&Placement>,
) -> (BlockerReason, bool) {
    let masking_named = failure.reasons.iter().any(|r| {
        matches!(
            r.reason,
            BlockerReason::UntoleratedTaint | BlockerReason::NodesUnschedulable
        )
    });
    let names_affinity = failure
        .reasons
        .iter()
        .any(|r| r.reason == BlockerReason::NodeAffinityMismatch);
    if nodes.is_empty() {
        return (primary, masking_named && names_affinity);
    }
    let Some(placement) = placement else {
        return (primary, false);
    };
    let masking = matches!(
        primary,
        BlockerReason::UntoleratedTaint | BlockerReason::NodesUnschedulable
    );
    if !masking || !names_affinity {
        return (primary, false);
    }
    let mut selected = Vec::new();
    for n in nodes {
        match placement.selects(&n.labels) {
            Some(true) => selected.push(*n),
            Some(false) => {}
            None => return (primary, true),
        }
    }
    if selected.is_empty() {
        return (BlockerReason::NodeAffinityMismatch, false);
    }
    let excluding =
        |t: &&crate::engine::view::Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
    let policy_taint = selected.iter().any(|n| {
        n.taints
            .iter()
            .filter(excluding)
            .any(|t| !is_node_condition_taint(&t.key))
    });
    let node_problem = selected.iter().all(|n| {
        n.unschedulable
            || n.ready == Some(false)
            || n.taints
                .iter()
                .filter(excluding)
                .any(|t| is_node_condition_taint(&t.key))
    });
    if policy_taint {
        (BlockerReason::UntoleratedTaint, false)
    } else if node_problem {
        (BlockerReason::NodesUnschedulable, false)
    } else {
        (primary, false)
    }
}

/// Why the pod cannot be scheduled, and the message that says so: from the last
/// FailedScheduling event (Karpenter's or the scheduler's), else from the PodScheduled
/// condition. None when nothing says anything yet.
fn scheduling_failure(
    last_fs: Option<&EventInfo>,
    scheduled: Option<&Condition>,
    nodes: &[&NodeInfo],
) -> Option<(Option<SchedulingFailure>, String)> {
    match last_fs {
        // Karpenter's own FailedScheduling means it cannot make capacity.
        Some(e) if e.source == "karpenter" || e.message.starts_with("Failed to schedule pod") => {
            let failure = SchedulingFailure {
                total_nodes: None,
                reasons: vec![ReasonCount {
                    reason: classify_karpenter_failure(&e.message),
                    nodes: 0,
                    text: e.message.to_string(),
                    custom_taint: false,
                }],
                truncated: false,
            };
            Some((Some(failure), e.message.to_string()))
        }
        Some(e) => Some(scheduler_failure(e, scheduled, nodes)),
        None => scheduled.filter(|c| !c.message.is_empty()).map(|c| {
            (
                parse_failed_scheduling(&c.message, nodes),
                c.message.to_string(),
            )
        }),
    }
}

/// The scheduler's FailedScheduling event, read with the PodScheduled condition, which holds
/// the untruncated message.
fn scheduler_failure(
    e: &EventInfo,
    scheduled: Option<&Condition>,
    nodes: &[&NodeInfo],
) -> (Option<SchedulingFailure>, String) {
    let parsed = parse_failed_scheduling(&e.message, nodes);
    let cond = scheduled.and_then(|c| parse_failed_scheduling(&c.message, nodes));
    let cond_message = || scheduled.map(|c| c.message.to_string()).unwrap_or_default();
    match (parsed, cond) {
        (Some(p), Some(c)) if p.truncated => (Some(c), cond_message()),
        (Some(p), _) => (Some(p), e.message.to_string()),
        (None, Some(c)) => (Some(c), cond_message()),
        (None, None) => (None, e.message.to_string()),
    }
}

/// A pod bound to a node: its container states (init containers first), then what holds the
/// containers that are still being created or not ready.
fn scheduled_state(p: &PodInfo, events: &[&EventInfo]) -> PodState {
    let mut any_creating = p.statuses.is_empty();
    let mut running_unready = false;
    for s in p.init_statuses.iter().chain(p.statuses.iter()) {
        match &s.state {
            ContainerState::Waiting(w) => {
                match waiting_state(p, s, &w.reason, &w.message, events) {
                    Some(state) => return state,
                    None => any_creating = true,
                }
            }
            ContainerState::Running { .. } => {
                if let Some(state) = oom_restarted(s) {
                    return state;
                }
                running_unready |= !s.ready;
            }
            ContainerState::Terminated(_) | ContainerState::None => {}
        }
    }
    if any_creating {
        return creating_state(events);
    }
    if running_unready {
        return unready_state(events);
    }
    if p.phase == PodPhase::Failed {
        return PodState::Progress(Cause::RolloutProgressing, wording::replaced_pod_message(p));
    }
    PodState::Progress(Cause::Starting, "not ready yet".into())
}

/// The registry's word on a pod that pulls (DESIGN §7, image missing before the pull fails): a
/// 404 for the image of one of its containers is definitive, so a pod pulling, or failing to
/// pull for a reason that is not the kubelet's own credentials or rate limit, is
/// `image_not_found` at once, without waiting for `--blocked-after`.
/// `template` is the Deployment's pod template's containers, which the new pods run.
pub(super) fn with_registry_answer(
    view: &ClusterView,
    template: &[ContainerSpec],
    state: PodState,
) -> PodState {
    use super::super::events::BlockerReason as R;
    let (pulling, kubelet) = match &state {
        PodState::Progress(Cause::PullingImage, m) => (true, m.as_str()),
        PodState::Blocker {
            primary: R::ImageNotFound | R::ImagePullNetwork | R::Other,
            message,
            ..
        } => (true, message.as_str()),
        _ => (false, ""),
    };
    if !pulling {
        return state;
    }
    let not_found = template.iter().find_map(|c| {
        let image = ImageRef::parse(&c.image).ok()?;
        let name = registry::lookup_name(&image)?;
        match view.tag_state(&name)?.entry()?.answer {
            TagAnswer::NotFound { answered_at } => Some((name, answered_at)),
            _ => None,
        }
    });
    let Some((name, at)) = not_found else {
        return state;
    };
    let since = match &state {
        PodState::Blocker { since, .. } => *since,
        _ => Some(at),
    };
    PodState::Blocker {
        reasons: vec![(R::ImageNotFound, 0)],
        primary: R::ImageNotFound,
        message: wording::registry_not_found_message(&name, at, kubelet),
        since,
        definitive: true,
    }
}

/// A waiting container whose reason decides the pod's state; None for the reasons of a
/// container still being created.
fn waiting_state(
    p: &PodInfo,
    s: &ContainerStatus,
    reason: &str,
    message: &str,
    events: &[&EventInfo],
) -> Option<PodState> {
    Some(match reason {
        "ErrImagePull" | "ImagePullBackOff" | "RegistryUnavailable" => {
            image_pull_blocker(p, message, events)
        }
        "InvalidImageName" | "ErrImageNeverPull" => {
            let r = if reason == "InvalidImageName" {
                BlockerReason::InvalidImageName
            } else {
                BlockerReason::ImageNotFound
            };
            let text = latest(
                events,
                &[EventReason::InspectFailed, EventReason::ErrImageNeverPull],
            )
            .map(|e| e.message.to_string())
            .unwrap_or_else(|| message.to_string());
            PodState::blocked(r, text, p.start_time)
        }
        "CrashLoopBackOff" => crash_loop_failure(p, s, events),
        "CreateContainerConfigError"
        | "CreateContainerError"
        | "RunContainerError"
        | "PreStartHookError"
        | "PostStartHookError" => PodState::Failure {
            cause: Cause::ConfigError,
            message: wording::config_error_message(s, reason, message),
            since: earliest(events, &[EventReason::Failed]).or(p.start_time),
        },
        _ => return None,
    })
}

/// An image pull that fails, classified by the kubelet's latest pull failure (else the waiting
/// message), held since the first one.
fn image_pull_blocker(p: &PodInfo, message: &str, events: &[&EventInfo]) -> PodState {
    let text = events
        .iter()
        .rev()
        .find(|e| is_pull_failure(e))
        .map(|e| e.message.to_string())
        .unwrap_or_else(|| message.to_string());
    let since = events
        .iter()
        .filter(|e| is_pull_failure(e))
        .filter_map(|e| e.first)
        .min()
        .or(p.start_time);
    PodState::blocked(classify_image_pull(&text), text, since)
}

/// A crash loop (of OOM kills, when the last termination was one).
fn crash_loop_failure(p: &PodInfo, s: &ContainerStatus, events: &[&EventInfo]) -> PodState {
    let (last_finished, oom) = match s.last_state.terminated() {
        Some(t) => (t.finished_at, t.reason == "OOMKilled"),
        None => (None, false),
    };
    // The loop began with the first crash: the first BackOff event, else the pod's start (the
    // container has restarted since), not the latest termination.
    let since = [
        earliest(events, &[EventReason::BackOff]),
        last_finished,
        p.start_time.filter(|_| s.restart_count > 0),
    ]
    .into_iter()
    .flatten()
    .min();
    PodState::Failure {
        cause: if oom {
            Cause::OomKilled
        } else {
            Cause::CrashLoop
        },
        message: wording::crash_loop_message(s),
        since,
    }
}

/// A running container, not ready, that was OOM-killed before.
fn oom_restarted(s: &ContainerStatus) -> Option<PodState> {
    let t = s.last_state.terminated()?;
    (s.restart_count > 0 && t.reason == "OOMKilled" && !s.ready).then(|| PodState::Failure {
        cause: Cause::OomKilled,
        message: wording::oom_restart_message(s),
        since: t.finished_at,
    })
}

/// Containers being created: held by the sandbox or a volume, pulling, or starting.
fn creating_state(events: &[&EventInfo]) -> PodState {
    const SANDBOX: [EventReason; 2] = [
        EventReason::FailedCreatePodSandBox,
        EventReason::NetworkNotReady,
    ];
    const MOUNT: [EventReason; 2] = [EventReason::FailedMount, EventReason::FailedAttachVolume];
    if let Some(e) = latest(events, &SANDBOX) {
        return PodState::blocked(
            BlockerReason::SandboxCreationFailed,
            e.message.to_string(),
            earliest(events, &SANDBOX),
        );
    }
    if let Some(e) = latest(events, &MOUNT) {
        let since = earliest(events, &MOUNT);
        return match classify_mount(&e.message) {
            MountFailure::ConfigMissing => PodState::Failure {
                cause: Cause::ConfigError,
                message: e.message.to_string(),
                since,
            },
            MountFailure::Volume => PodState::blocked(
                BlockerReason::VolumeMountFailed,
                e.message.to_string(),
                since,
            ),
        };
    }
    let pulling = latest(events, &[EventReason::Pulling]);
    let pulled = latest(events, &[EventReason::Pulled]);
    if let Some(e) = pulling
        && pulled.is_none_or(|d| d.last < e.last)
    {
        return PodState::Progress(Cause::PullingImage, e.message.to_string());
    }
    PodState::Progress(Cause::Starting, "containers are being created".into())
}

/// Containers running but not ready: failing probes, else still starting.
fn unready_state(events: &[&EventInfo]) -> PodState {
    let probes: Vec<&EventInfo> = events
        .iter()
        .copied()
        .filter(|e| {
            e.kind == EventReason::Unhealthy
                && (e.message.starts_with("Readiness probe")
                    || e.message.starts_with("Startup probe")
                    || e.message.starts_with("Liveness probe"))
        })
        .collect();
    match probes.last() {
        Some(last) => PodState::Failure {
            cause: Cause::ReadinessFailing,
            message: wording::probe_message(
                last,
                probes
                    .iter()
                    .fold(0i32, |n, e| n.saturating_add(e.count.max(1))),
            ),
            since: probes.iter().filter_map(|e| e.first).min(),
        },
        None => PodState::Progress(Cause::Starting, "containers running, not ready yet".into()),
    }
}

/// One application cause among the new pods.
struct Failures {
    pods: u32,
    /// The first failing pod's message and name.
    message: String,
    pod: String,
    /// The earliest start among them.
    since: Option<Timestamp>,
}

/// Step: application failures that persisted make the rollout failed, on the cause most pods
/// show (ties: the cause listed first in `Cause`).
pub(super) fn judge_failures<'c>(ctx: &Ctx<'_>, seen: &Observed<'_>) -> Option<Outcome<'c>> {
    let mut failures: BTreeMap<Cause, Failures> = BTreeMap::new();
    for (p, state) in &seen.states {
        if let PodState::Failure {
            cause,
            message,
            since,
        } = state
            && ctx.mature(*since)
        {
            let e = failures.entry(*cause).or_insert_with(|| Failures {
                pods: 0,
                message: message.clone(),
                pod: p.meta.name.clone(),
                since: *since,
            });
            e.pods += 1;
            e.since = e.since.min(*since).or(*since);
        }
    }
    let (cause, f) = failures
        .into_iter()
        .max_by(|a, b| a.1.pods.cmp(&b.1.pods).then(b.0.cmp(&a.0)))?;
    let container = failing_container(ctx.view, &ctx.d.meta.namespace, &f.pod);
    Some(Outcome::new(
        Verdict::Failed,
        cause,
        Finding::AppFailure {
            cause,
            pods: f.pods,
            message: f.message,
            since: f.since,
            pod: f.pod,
            container,
        },
    ))
}

/// The pod's first container that is not ready.
fn failing_container(view: &ClusterView, ns: &str, pod: &str) -> Option<String> {
    view.pods_in(ns)
        .find(|p| p.meta.name == pod)
        .and_then(|p| p.statuses.iter().find(|s| !s.ready))
        .map(|s| s.name.to_string())
}

#[cfg(test)]
mod tests {
    use crate::engine::events::{BlockerReason, Owner};
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, Policy, Verdict};
    use jiff::SignedDuration;

    /// `shop/checkout` rolling out its one new pod `checkout-1`, as `p` shows it.
    fn rolling(p: PodBuilder) -> Cluster {
        cluster(deployment("shop", "checkout").rolling(1, 0)).pod(p)
    }

    fn pod_event(reason: &str, message: &str) -> EventBuilder {
        event("shop", "Pod", "checkout-1", reason, message)
    }

    fn checkout() -> PodBuilder {
        pod("shop", "checkout-1")
    }

    #[test]
    fn a_crash_loop_that_persisted_is_failed() {
        let v = rolling(
            checkout()
                .waiting("CrashLoopBackOff")
                .restarted(4, "Error", 1, ago(200)),
        )
        .event(pod_event("BackOff", "Back-off restarting failed container").first(ago(400)))
        .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::CrashLoop, Owner::Application)
        );
        assert!(
            v.summary
                .starts_with("1 pod of the new rollout crash-loops"),
            "{}",
            v.summary
        );
        assert!(
            v.summary.contains("(last exit: Error, code 1)"),
            "{}",
            v.summary
        );
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl logs -n shop checkout-1 -c app --previous")
        );
    }

    #[test]
    fn a_young_crash_loop_is_converging() {
        let v = rolling(
            checkout()
                .started(ago(50))
                .waiting("CrashLoopBackOff")
                .restarted(1, "Error", 1, ago(20)),
        )
        .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::RolloutProgressing, Owner::None)
        );
        assert!(
            v.summary.starts_with("Pods are held for less than 2m00s"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn a_crash_loop_of_oom_kills_is_oom_killed() {
        let v = rolling(checkout().waiting("CrashLoopBackOff").restarted(
            3,
            "OOMKilled",
            137,
            ago(300),
        ))
        .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::OomKilled, Owner::Application)
        );
        assert!(
            v.next_step
                .as_deref()
                .unwrap()
                .starts_with("Raise the memory limit")
        );
    }

    #[test]
    fn running_unready_after_an_oom_kill_is_oom_killed() {
        let v = rolling(
            checkout()
                .running()
                .restarted(1, "OOMKilled", 137, ago(300)),
        )
        .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::OomKilled, Owner::Application)
        );
    }

    #[test]
    fn a_container_config_error_is_failed() {
        let v = rolling(checkout().waiting("CreateContainerConfigError")).verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::ConfigError, Owner::Application)
        );
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl describe pod -n shop checkout-1")
        );
    }

    #[test]
    fn a_missing_config_map_mount_is_a_config_error() {
        let v = rolling(checkout().waiting("ContainerCreating"))
            .event(
                pod_event(
                    "FailedMount",
                    "MountVolume.SetUp failed for volume \"cfg\" : configmap \"checkout\" not found",
                )
                .first(ago(300)),
            )
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::ConfigError, Owner::Application)
        );
    }

    #[test]
    fn failing_readiness_probes_are_failed() {
        let v = rolling(checkout().running())
            .event(
                pod_event(
                    "Unhealthy",
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                )
                .first(ago(300)),
            )
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::ReadinessFailing, Owner::Application)
        );
        assert!(v.summary.contains("never becomes ready"), "{}", v.summary);
    }

    /// The registry's 404 is definitive: a pull in progress, or failing for 30 s, is blocked at
    /// once; the kubelet's own word on credentials stands.
    #[test]
    fn a_registry_404_blocks_a_pulling_rollout_at_once() {
        use crate::engine::registry::TagAnswer;
        use crate::engine::view::Change;
        let not_found = Change::RegistryAnswer {
            name: image_of("shop", "checkout").0,
            answer: TagAnswer::NotFound {
                answered_at: ago(5),
            },
        };
        let pulling = || {
            rolling(checkout().waiting("ContainerCreating")).event(
                pod_event(
                    "Pulling",
                    "Pulling image \"registry.example.com/shop/checkout:1.8.0\"",
                )
                .source("kubelet"),
            )
        };
        let v = pulling().change(not_found.clone()).verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::ImageNotFound),
                Owner::Application
            )
        );
        assert!(
            v.blockers[0]
                .message
                .contains("registry registry.example.com answered 404"),
            "{:?}",
            v.blockers
        );
        let young_failure = |msg: &str| {
            rolling(checkout().waiting("ErrImagePull"))
                .event(pod_event("Failed", msg).first(ago(30)))
                .change(not_found.clone())
                .verdict()
        };
        let v = young_failure(
            "Failed to pull image \"registry.example.com/shop/checkout:1.8.0\": not found",
        );
        assert_eq!(
            v.cause,
            Cause::Blocker(BlockerReason::ImageNotFound),
            "{}",
            v.summary
        );
        assert_eq!(v.verdict, Verdict::Blocked);
        let v = young_failure("Failed to pull image \"x\": 401 Unauthorized");
        assert_eq!(v.verdict, Verdict::Converging, "{}", v.summary);
        // Without the registry's word the same pull is converging.
        assert_eq!(pulling().verdict().cause, Cause::PullingImage);
    }

    #[test]
    fn a_pull_in_progress_is_converging_pulling_image() {
        let v = rolling(checkout().waiting("ContainerCreating"))
            .event(
                pod_event(
                    "Pulling",
                    "Pulling image \"registry.example.com/shop/checkout:1.8.0\"",
                )
                .source("kubelet"),
            )
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::PullingImage, Owner::None)
        );
    }

    #[test]
    fn a_running_pod_not_ready_yet_is_starting() {
        let v = rolling(checkout().running()).verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::Starting, Owner::None)
        );
        assert_eq!(
            v.summary,
            "0 of 1 new pods ready, the others are starting; wait."
        );
    }

    /// An image pull refused 401 since `since`.
    fn pull_refused(since: i64) -> Cluster {
        rolling(checkout().waiting("ImagePullBackOff")).event(
            pod_event(
                "Failed",
                "Failed to pull image \"registry.example.com/shop/checkout:1.8.0\": 401 Unauthorized",
            )
            .first(ago(since))
            .last(ago(5)),
        )
    }

    #[test]
    fn a_refused_pull_is_blocked_only_once_older_than_blocked_after() {
        let blocked = (
            Verdict::Blocked,
            Cause::Blocker(BlockerReason::ImagePullUnauthorized),
            Owner::Platform,
        );
        let young = pull_refused(60);
        assert_eq!(
            outcome(&young.verdict()),
            (Verdict::Converging, Cause::RolloutProgressing, Owner::None)
        );
        let impatient = Policy {
            blocked_after: SignedDuration::from_secs(30),
            ..Policy::default()
        };
        assert_eq!(outcome(&young.judge(&impatient)), blocked);
        let v = pull_refused(300).verdict();
        assert_eq!(outcome(&v), blocked);
        assert_eq!(v.blockers.len(), 1);
        assert!(v.blockers[0].primary);
    }

    /// `checkout-1` being created, with one event of `reason` since five minutes.
    fn creating_with(reason: &str, message: &str) -> Cluster {
        rolling(checkout().waiting("ContainerCreating"))
            .event(pod_event(reason, message).first(ago(300)))
    }

    #[test]
    fn a_sandbox_that_cannot_be_created_is_blocked_on_infrastructure() {
        let v = creating_with(
            "FailedCreatePodSandBox",
            "Failed to create pod sandbox: rpc error: failed to allocate for range 0: no IP addresses available",
        )
        .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::SandboxCreationFailed),
                Owner::Infrastructure
            )
        );
    }

    #[test]
    fn a_volume_that_cannot_be_attached_is_blocked_on_infrastructure() {
        let v = creating_with(
            "FailedAttachVolume",
            "AttachVolume.Attach failed for volume \"pvc-1\" : rpc error: context deadline exceeded",
        )
        .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::VolumeMountFailed),
                Owner::Infrastructure
            )
        );
    }

    #[test]
    fn an_invalid_image_name_is_blocked_on_the_application() {
        let v = rolling(checkout().waiting("InvalidImageName")).verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::InvalidImageName),
                Owner::Application
            )
        );
        assert!(
            v.next_step
                .as_deref()
                .unwrap()
                .starts_with("Fix the image reference in deployment/checkout")
        );
    }

    #[test]
    fn karpenter_failing_to_schedule_is_blocked_on_its_reason() {
        let v = rolling(checkout())
            .event(
                pod_event(
                    "FailedScheduling",
                    "Failed to schedule pod, incompatible requirements, key topology.kubernetes.io/zone, zone In [eu-west-1z] not in eu-west-1a, eu-west-1b",
                )
                .source("karpenter")
                .first(ago(300)),
            )
            .verdict();
        assert_eq!(
            outcome(&v),
            (
                Verdict::Blocked,
                Cause::Blocker(BlockerReason::NodeAffinityMismatch),
                Owner::Application
            )
        );
    }

    #[test]
    fn a_pod_nothing_is_said_about_yet_waits_to_be_scheduled() {
        let v = rolling(checkout()).verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::RolloutProgressing, Owner::None)
        );
        assert!(v.evidence.contains(
            &"pod shop/checkout-1: rollout_progressing (waiting to be scheduled)".into()
        ));
    }
}
