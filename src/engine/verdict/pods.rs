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
}
