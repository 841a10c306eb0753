//! Pods: what one pod of the rollout shows (ready, moving, blocked or failing), from its
//! conditions, container states and events.

use jiff::Timestamp;

use super::super::events::{
    self, BlockerReason, MountFailure, SchedulingFailure, classify_image_pull,
    classify_karpenter_failure, classify_mount, parse_failed_scheduling,
};
use super::super::view::{ClusterView, ContainerState, EventInfo, NodeInfo, PodInfo, condition};
use super::Cause;

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

/// The latest event with one of these reasons for the pod.
pub(super) fn latest<'a>(events: &[&'a EventInfo], reasons: &[&str]) -> Option<&'a EventInfo> {
    events
        .iter()
        .rev()
        .find(|e| reasons.contains(&e.reason.as_str()))
        .copied()
}

/// The earliest first-seen time of the events with one of these reasons.
pub(super) fn earliest(events: &[&EventInfo], reasons: &[&str]) -> Option<Timestamp> {
    events
        .iter()
        .filter(|e| reasons.contains(&e.reason.as_str()))
        .filter_map(|e| e.first)
        .min()
}

/// What one pod of the rollout shows. Ages are judged by the caller (`--blocked-after`).
pub(super) fn pod_state(view: &ClusterView, p: &PodInfo, nodes: &[&NodeInfo]) -> PodState {
    if p.is_ready() {
        return PodState::Ready;
    }
    let ns = &p.meta.namespace;
    let events = view.events_for(ns, "Pod", &p.meta.name);
    let scheduled = condition(&p.conditions, "PodScheduled");

    // -- not scheduled
    if p.node_name.is_none() && scheduled.is_none_or(|c| !c.is_true()) {
        if let Some(c) = scheduled
            && c.reason == "SchedulingGated"
        {
            return PodState::Blocker {
                reasons: vec![(BlockerReason::Other, 0)],
                primary: BlockerReason::Other,
                message: c.message.clone(),
                since: c.last_transition,
                definitive: false,
            };
        }
        let fs_events: Vec<&EventInfo> = events
            .iter()
            .copied()
            .filter(|e| e.reason == "FailedScheduling")
            .collect();
        let last_fs = fs_events.last().copied();
        let scale_up = latest(&events, &["TriggeredScaleUp", "Nominated"]);
        let no_scale_up = latest(&events, &["NotTriggerScaleUp"]);
        let after = |e: Option<&EventInfo>| match (e, last_fs) {
            (Some(e), Some(f)) => e.last >= f.last,
            (Some(_), None) => true,
            _ => false,
        };
        // Karpenter's own FailedScheduling means it cannot make capacity.
        let (failure, message): (Option<SchedulingFailure>, String) = match last_fs {
            Some(e)
                if e.source == "karpenter" || e.message.starts_with("Failed to schedule pod") =>
            {
                let r = classify_karpenter_failure(&e.message);
                (
                    Some(SchedulingFailure {
                        total_nodes: None,
                        reasons: vec![events::ReasonCount {
                            reason: r,
                            nodes: 0,
                            text: e.message.clone(),
                            custom_taint: false,
                        }],
                        truncated: false,
                    }),
                    e.message.clone(),
                )
            }
            Some(e) => {
                let parsed = parse_failed_scheduling(&e.message, nodes);
                // The condition holds the untruncated message.
                let cond = scheduled.and_then(|c| parse_failed_scheduling(&c.message, nodes));
                match (parsed, cond) {
                    (Some(p), Some(c)) if p.truncated => (
                        Some(c),
                        scheduled.map(|c| c.message.clone()).unwrap_or_default(),
                    ),
                    (Some(p), _) => (Some(p), e.message.clone()),
                    (None, Some(c)) => (
                        Some(c),
                        scheduled.map(|c| c.message.clone()).unwrap_or_default(),
                    ),
                    (None, None) => (None, e.message.clone()),
                }
            }
            None => match scheduled.filter(|c| !c.message.is_empty()) {
                Some(c) => (
                    parse_failed_scheduling(&c.message, nodes),
                    c.message.clone(),
                ),
                None => {
                    return PodState::Progress(
                        Cause::RolloutProgressing,
                        "waiting to be scheduled".into(),
                    );
                }
            },
        };
        if after(scale_up) && !after(no_scale_up) {
            return PodState::Progress(
                Cause::ScalingUp,
                scale_up.map(|e| e.message.clone()).unwrap_or_default(),
            );
        }
        let since =
            earliest(&events, &["FailedScheduling"]).or(scheduled.and_then(|c| c.last_transition));
        let (reasons, primary) = match &failure {
            Some(f) if !f.reasons.is_empty() => (
                f.reasons.iter().map(|r| (r.reason, r.nodes)).collect(),
                f.primary().unwrap_or(BlockerReason::Other),
            ),
            _ => (vec![(BlockerReason::Other, 0)], BlockerReason::Other),
        };
        let mut message = message;
        if let Some(n) = no_scale_up.filter(|_| after(no_scale_up)) {
            message = format!("{message} Cluster autoscaler: {}", n.message);
        }
        return PodState::Blocker {
            reasons,
            primary,
            message,
            since,
            definitive: after(no_scale_up),
        };
    }

    // -- scheduled: container states, init containers first
    let mut any_creating = false;
    let mut running_unready = false;
    for s in p.init_statuses.iter().chain(p.statuses.iter()) {
        match &s.state {
            ContainerState::Waiting { reason, message } => match reason.as_str() {
                "ErrImagePull" | "ImagePullBackOff" | "RegistryUnavailable" => {
                    let pull = events.iter().rev().find(|e| {
                        e.reason == "Failed" && e.message.starts_with("Failed to pull image")
                    });
                    let text = pull
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| message.clone());
                    let r = classify_image_pull(&text);
                    let since = events
                        .iter()
                        .filter(|e| {
                            e.reason == "Failed" && e.message.starts_with("Failed to pull image")
                        })
                        .filter_map(|e| e.first)
                        .min()
                        .or(p.start_time);
                    return PodState::Blocker {
                        reasons: vec![(r, 0)],
                        primary: r,
                        message: text,
                        since,
                        definitive: false,
                    };
                }
                "InvalidImageName" | "ErrImageNeverPull" => {
                    let r = if reason == "InvalidImageName" {
                        BlockerReason::InvalidImageName
                    } else {
                        BlockerReason::ImageNotFound
                    };
                    let text = latest(&events, &["InspectFailed", "ErrImageNeverPull"])
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| message.clone());
                    return PodState::Blocker {
                        reasons: vec![(r, 0)],
                        primary: r,
                        message: text,
                        since: p.start_time,
                        definitive: false,
                    };
                }
                "CrashLoopBackOff" => {
                    let oom = matches!(&s.last_state, ContainerState::Terminated { reason, .. } if reason == "OOMKilled");
                    // The loop began with the first crash: the first BackOff event, else the pod's start
                    // (the container has restarted since), not the latest termination.
                    let last_finished = match &s.last_state {
                        ContainerState::Terminated { finished_at, .. } => *finished_at,
                        _ => None,
                    };
                    let since = [
                        earliest(&events, &["BackOff"]),
                        last_finished,
                        p.start_time.filter(|_| s.restart_count > 0),
                    ]
                    .into_iter()
                    .flatten()
                    .min();
                    let last = match &s.last_state {
                        ContainerState::Terminated {
                            exit_code, reason, ..
                        } => format!(" (last exit: {reason}, code {exit_code})"),
                        _ => String::new(),
                    };
                    return PodState::Failure {
                        cause: if oom {
                            Cause::OomKilled
                        } else {
                            Cause::CrashLoop
                        },
                        message: format!(
                            "container {} restarted {} times{last}",
                            s.name, s.restart_count
                        ),
                        since,
                    };
                }
                "CreateContainerConfigError"
                | "CreateContainerError"
                | "RunContainerError"
                | "PreStartHookError"
                | "PostStartHookError" => {
                    let since = earliest(&events, &["Failed"]).or(p.start_time);
                    return PodState::Failure {
                        cause: Cause::ConfigError,
                        message: format!("container {} {reason}: {message}", s.name),
                        since,
                    };
                }
                _ => any_creating = true,
            },
            ContainerState::Running { .. } => {
                if !s.ready {
                    running_unready = true;
                }
                if s.restart_count > 0
                    && let ContainerState::Terminated { reason, .. } = &s.last_state
                    && reason == "OOMKilled"
                    && !s.ready
                {
                    return PodState::Failure {
                        cause: Cause::OomKilled,
                        message: format!(
                            "container {} was OOM-killed and restarted {} times",
                            s.name, s.restart_count
                        ),
                        since: match &s.last_state {
                            ContainerState::Terminated { finished_at, .. } => *finished_at,
                            _ => None,
                        },
                    };
                }
            }
            ContainerState::Terminated { .. } | ContainerState::None => {}
        }
    }
    if p.statuses.is_empty() {
        any_creating = true;
    }
    if any_creating {
        // Sandbox and volume problems hold a pod in ContainerCreating.
        if let Some(e) = latest(&events, &["FailedCreatePodSandBox", "NetworkNotReady"]) {
            return PodState::Blocker {
                reasons: vec![(BlockerReason::SandboxCreationFailed, 0)],
                primary: BlockerReason::SandboxCreationFailed,
                message: e.message.clone(),
                since: earliest(&events, &["FailedCreatePodSandBox", "NetworkNotReady"]),
                definitive: false,
            };
        }
        if let Some(e) = latest(&events, &["FailedMount", "FailedAttachVolume"]) {
            let since = earliest(&events, &["FailedMount", "FailedAttachVolume"]);
            return match classify_mount(&e.message) {
                MountFailure::ConfigMissing => PodState::Failure {
                    cause: Cause::ConfigError,
                    message: e.message.clone(),
                    since,
                },
                MountFailure::Volume => PodState::Blocker {
                    reasons: vec![(BlockerReason::VolumeMountFailed, 0)],
                    primary: BlockerReason::VolumeMountFailed,
                    message: e.message.clone(),
                    since,
                    definitive: false,
                },
            };
        }
        let pulling = latest(&events, &["Pulling"]);
        let pulled = latest(&events, &["Pulled"]);
        if let Some(e) = pulling
            && pulled.is_none_or(|d| d.last < e.last)
        {
            return PodState::Progress(Cause::PullingImage, e.message.clone());
        }
        return PodState::Progress(Cause::Starting, "containers are being created".into());
    }
    if running_unready {
        let probes: Vec<&&EventInfo> = events
            .iter()
            .filter(|e| {
                e.reason == "Unhealthy"
                    && (e.message.starts_with("Readiness probe")
                        || e.message.starts_with("Startup probe")
                        || e.message.starts_with("Liveness probe"))
            })
            .collect();
        if let Some(last) = probes.last() {
            return PodState::Failure {
                cause: Cause::ReadinessFailing,
                message: format!(
                    "{} (seen {} times)",
                    last.message,
                    probes.iter().map(|e| e.count.max(1)).sum::<i32>()
                ),
                since: probes.iter().filter_map(|e| e.first).min(),
            };
        }
        return PodState::Progress(Cause::Starting, "containers running, not ready yet".into());
    }
    if p.phase == "Failed" {
        return PodState::Progress(
            Cause::RolloutProgressing,
            format!("pod failed ({}), the ReplicaSet replaces it", p.reason),
        );
    }
    PodState::Progress(Cause::Starting, "not ready yet".into())
}

pub(super) fn failing_container(view: &ClusterView, ns: &str, pod: &str) -> String {
    view.pods_in(ns)
        .find(|p| p.meta.name == pod)
        .and_then(|p| p.statuses.iter().find(|s| !s.ready))
        .map(|s| format!(" -c {}", s.name))
        .unwrap_or_default()
}
