//! Wording: how verdicts are told to people (summaries, next steps, evidence lines, times and
//! durations). Nothing here decides a verdict.

use jiff::{SignedDuration, Timestamp};

use super::super::builds::{Build, BuildStatus, DigestSource};
use super::super::events::BlockerReason;
use super::super::image::Digest;
use super::super::view::{ContainerState, ContainerStatus, EventInfo, PodInfo};
use super::LinkBuilds;

pub(super) fn fmt_ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|| "an unknown time".into())
}

/// `2m30s`-style durations for people.
pub fn human(d: SignedDuration) -> String {
    let s = d.as_secs().max(0);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

pub(super) fn dest_names(b: &Build) -> String {
    b.destinations
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn blocker_next_step(
    r: BlockerReason,
    ns: &str,
    name: &str,
    pod: Option<&str>,
) -> String {
    use BlockerReason as R;
    let describe = match pod {
        Some(p) => format!("kubectl describe pod -n {ns} {p}"),
        None => format!("kubectl describe rs -n {ns} -l app={name}"),
    };
    match r {
        R::InsufficientCpu
        | R::InsufficientMemory
        | R::InsufficientEphemeralStorage
        | R::InsufficientResource
        | R::TooManyPods => {
            format!(
                "Add nodes (check the cluster autoscaler's node group limits) or lower the pods' requests; {describe}"
            )
        }
        R::NodesUnschedulable => "Uncordon or repair the nodes: kubectl get nodes".to_string(),
        R::UntoleratedTaint => format!(
            "Add the toleration for the tainted pool to the deployment, or schedule elsewhere; {describe}"
        ),
        R::NodeAffinityMismatch
        | R::PodAffinityMismatch
        | R::PodAntiAffinityConflict
        | R::TopologySpreadMismatch
        | R::NoFreePorts => {
            format!("Relax the deployment's placement rules or add matching nodes; {describe}")
        }
        R::VolumeNodeAffinityConflict | R::UnboundPvc => {
            format!("kubectl get pvc -n {ns}; {describe}")
        }
        R::SandboxCreationFailed => {
            format!("Check the CNI plugin and free pod IPs on the node; {describe}")
        }
        R::VolumeMountFailed => format!("Check the volume attachment and CSI driver; {describe}"),
        R::ImagePullNetwork => {
            format!("Check the nodes' route, DNS and TLS to the registry; {describe}")
        }
        R::ImagePullUnauthorized => {
            format!("Fix the image pull secret or the registry permissions; {describe}")
        }
        R::ImagePullRateLimited => {
            "Authenticate pulls or use a registry mirror; wait for the rate limit to reset"
                .to_string()
        }
        R::QuotaExceeded => format!("kubectl describe resourcequota -n {ns}"),
        R::AdmissionDenied => {
            format!("kubectl get events -n {ns} --field-selector reason=FailedCreate")
        }
        R::ImageNotFound | R::InvalidImageName => format!(
            "Fix the image reference in deployment/{name}: kubectl -n {ns} get deployment {name} -o jsonpath='{{.spec.template.spec.containers[*].image}}'"
        ),
        R::Other => describe,
    }
}

/// A pod runs this registry digest for a container.
pub(super) fn running_digest_evidence(p: &PodInfo, s: &ContainerStatus) -> String {
    format!(
        "pod {} container {}: imageID {}",
        p.meta.full_name(),
        s.name,
        s.image_id_raw
    )
}

/// A pod reports a node-local image ID for a container: no digest to compare.
pub(super) fn local_image_id_evidence(p: &PodInfo, s: &ContainerStatus) -> String {
    format!(
        "pod {} container {}: imageID {} is a node-local image ID, not a registry digest",
        p.meta.full_name(),
        s.name,
        s.image_id_raw
    )
}

/// A newer build of the same repository under another tag.
pub(super) fn related_build_evidence(b: &Build, link: LinkBuilds) -> String {
    format!(
        "build {} of {} ({}) is newer, in the same repository{}",
        b.pod_ref(),
        dest_names(b),
        b.status.as_str(),
        if link == LinkBuilds::Exact {
            "; not linked to this deployment (--link-builds=exact)"
        } else {
            ""
        }
    )
}

/// Where the build's digest came from, or why there is none.
pub(super) fn build_evidence(b: &Build) -> String {
    match (&b.digest_source, &b.digest) {
        (Some(DigestSource::LogLine(line)), _) => {
            format!("build pod {} logged: {line}", b.pod_ref())
        }
        (Some(DigestSource::TerminationMessage), Some(d)) => format!(
            "build pod {} container {} exited 0 with termination message {d}",
            b.pod_ref(),
            b.container
        ),
        (Some(DigestSource::TektonResult), Some(d)) => format!(
            "build pod {} reported Tekton result IMAGE_DIGEST {d}",
            b.pod_ref()
        ),
        _ => match b.status {
            BuildStatus::Succeeded => format!(
                "build pod {} succeeded but logged no digest (kaniko before 1.8 logs none; use --digest-file=/dev/termination-log)",
                b.pod_ref()
            ),
            BuildStatus::Failed => format!(
                "build pod {} failed: {}",
                b.pod_ref(),
                b.fatal_lines.join(" | ")
            ),
            BuildStatus::Running => format!("build pod {} is running", b.pod_ref()),
        },
    }
}

/// A running digest that an older build pushed.
pub(super) fn older_build_evidence(d: &Digest, older: &Build) -> String {
    format!(
        "running digest {} was pushed by the older build {} at {}",
        d.short(),
        older.pod_ref(),
        fmt_ts(older.finished_at)
    )
}

/// A blocker message with the autoscaler's word that it cannot help.
pub(super) fn with_autoscaler_message(message: &str, not_triggered: &EventInfo) -> String {
    format!("{message} Cluster autoscaler: {}", not_triggered.message)
}

/// A crash-looping container: its restarts and last exit.
pub(super) fn crash_loop_message(s: &ContainerStatus) -> String {
    let last = match &s.last_state {
        ContainerState::Terminated {
            exit_code, reason, ..
        } => format!(" (last exit: {reason}, code {exit_code})"),
        _ => String::new(),
    };
    format!(
        "container {} restarted {} times{last}",
        s.name, s.restart_count
    )
}

/// A container waiting with a configuration error.
pub(super) fn config_error_message(s: &ContainerStatus, reason: &str, message: &str) -> String {
    format!("container {} {reason}: {message}", s.name)
}

/// A running container that was OOM-killed before.
pub(super) fn oom_restart_message(s: &ContainerStatus) -> String {
    format!(
        "container {} was OOM-killed and restarted {} times",
        s.name, s.restart_count
    )
}

/// The latest failing probe, and how often probes failed.
pub(super) fn probe_message(last: &EventInfo, seen: i32) -> String {
    format!("{} (seen {seen} times)", last.message)
}

/// A failed pod that its ReplicaSet replaces.
pub(super) fn replaced_pod_message(p: &PodInfo) -> String {
    format!("pod failed ({}), the ReplicaSet replaces it", p.reason)
}
