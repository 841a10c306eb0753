//! Wording: how verdicts are told to people (summaries, next steps, evidence lines, times and
//! durations). Nothing here decides a verdict.

use jiff::{SignedDuration, Timestamp};

use super::super::builds::{Build, BuildStatus, DigestSource};
use super::super::events::BlockerReason;
use super::super::image::Digest;
use super::super::registry::{self, TagAnswer, TagState};
use super::super::rollout::Rollout;
use super::super::view::{
    Condition, ContainerStatus, DeploymentInfo, EventInfo, Kind, PodInfo, ReplicaSetInfo,
};
use super::blockers::RsBlocker;
use super::pods::PodState;
use super::{BlockerReport, Cause, ContainerVerdict, Finding, LinkBuilds, Waiting, age};

/// `HH:MM:SS` (UTC), or "an unknown time".
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

/// The destinations a build pushes, `registry/path:tag, ...`.
fn dest_names(b: &Build) -> String {
    b.destinations
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-line summary of a finding.
pub(super) fn summary(f: &Finding<'_>) -> String {
    match f {
        Finding::Forbidden(kinds) => format!(
            "Not judged: kube-verdict may not list {} (the API server answered 403).",
            kind_list(kinds)
        ),
        Finding::Unsynced(kinds) => format!("Not judged yet: still listing {}.", kind_list(kinds)),
        Finding::BuildFailed(b) => format!(
            "Build {} of {} failed at {}: {}",
            b.pod_ref(),
            dest_names(b),
            fmt_ts(b.finished_at),
            b.fatal_lines
                .first()
                .map(String::as_str)
                .unwrap_or("no error line found")
        ),
        Finding::BuildRunning(b) => format!(
            "Build {} of {} is still running (started {}); wait for its push.",
            b.pod_ref(),
            dest_names(b),
            fmt_ts(b.started_at)
        ),
        Finding::ScaledToZero => {
            "Scaled to 0 replicas: nothing runs, so no digest can be checked.".into()
        }
        Finding::Stale { container, build } => stale_summary(container, *build),
        Finding::AwaitingRollout { build, grace } => match build.and_then(|b| b.registry.as_ref()) {
            Some(r) => format!(
                "{} points {} to {} since {}, less than {} ago; the rollout has not picked it up yet.",
                registry::host_of(&r.name),
                r.name,
                pushed_short(*build),
                fmt_ts(Some(r.moved_at)),
                human(*grace)
            ),
            None => format!(
            "Build {} pushed {} at {}, less than {} ago; the rollout has not picked it up yet.",
            pod_ref(*build),
            pushed_short(*build),
            fmt_ts(build.and_then(|b| b.finished_at)),
            human(*grace)
        ),
        },
        Finding::Verified {
            build,
            pods,
            matched,
        } => verified_summary(*build, *pods, *matched),
        Finding::DigestPending(b) => format!(
            "Rollout complete; the build {} finished and its log is being read for the digest it pushed.",
            b.pod_ref()
        ),
        Finding::DigestUnavailable(None) => "Rollout complete, but the digest cannot be compared: the build logged no digest or the runtime reports no repo digest.".into(),
        Finding::DigestUnavailable(Some(p)) => format!(
            "Rollout complete, but {}: {} of {} pods run {} (container {}); {} {} a node-local image ID or none, which proves nothing.",
            if p.proven == 0 { "nothing proves the digest" } else { "the proof is partial" },
            p.proven,
            p.proven + p.local,
            p.digest.short(),
            p.container,
            p.local,
            if p.local == 1 { "reports" } else { "report" }
        ),
        Finding::NoBuildKnown {
            available,
            replicas,
        } => format!(
            "Rollout complete ({available} of {replicas} replicas available); no build of its image is known."
        ),
        Finding::AppFailure {
            cause,
            pods,
            message,
            since,
            ..
        } => failure_summary(*cause, *pods, message, *since),
        Finding::Blocked {
            primary, blockers, ..
        } => blocked_summary(*primary, &blockers[0]),
        Finding::DeadlineExceeded(c) => format!(
            "The rollout exceeded its progress deadline at {} and nothing is moving: {}",
            fmt_ts(c.last_transition),
            c.message
        ),
        Finding::JustStarted { status } => format!("The rollout has just started: {status}"),
        Finding::NoPods { status } => {
            format!("No pods of the new ReplicaSet are known and no event says why: {status}")
        }
        Finding::Unobserved {
            generation,
            observed,
            since,
        } => format!(
            "The Deployment controller has not observed generation {generation} (the status is of generation {observed}){}: is kube-controller-manager running, or is the Deployment held by an admission webhook?",
            since.map_or(String::new(), |t| format!(", nothing has progressed since {}", fmt_ts(Some(t))))
        ),
        Finding::Waiting(w) => waiting_summary(w),
    }
}

/// What a person should do next about a finding, when there is something to do.
pub(super) fn next_step(f: &Finding<'_>, d: &DeploymentInfo) -> Option<String> {
    let (ns, name) = (&d.meta.namespace, &d.meta.name);
    Some(match f {
        Finding::Forbidden(_) => "Grant get/list/watch on those resources to kube-verdict's ServiceAccount (deploy/base/rbac.yaml)".into(),
        Finding::BuildFailed(b) => match b.object {
            Some(kind) => format!("kubectl describe {} -n {} {}", kind.to_ascii_lowercase(), b.namespace, b.pod),
            None => format!("kubectl logs -n {} {} -c {}", b.namespace, b.pod, b.container),
        },
        Finding::Stale { .. } => format!("kubectl rollout restart deployment/{name} -n {ns}"),
        Finding::AppFailure {
            cause,
            pod,
            container,
            ..
        } => failure_next_step(*cause, ns, pod, container.as_deref()),
        Finding::Blocked {
            primary,
            pod,
            blockers,
        } => super::next_steps::blocker_next_step(
            *primary,
            blockers.first().map_or("", |b| b.message.as_str()),
            &super::next_steps::Target {
                ns,
                name,
                pod: pod.as_deref(),
            },
        ),
        Finding::DeadlineExceeded(_) => format!("kubectl describe deployment -n {ns} {name}"),
        Finding::NoPods { .. } => format!("kubectl get rs,pods -n {ns} -o wide"),
        Finding::Unobserved { .. } => format!(
            "kubectl get deployment -n {ns} {name} -o jsonpath='{{.metadata.generation}} {{.status.observedGeneration}}'; kubectl get events -n kube-system"
        ),
        Finding::Unsynced(_)
        | Finding::BuildRunning(_)
        | Finding::ScaledToZero
        | Finding::AwaitingRollout { .. }
        | Finding::Verified { .. }
        | Finding::DigestUnavailable(_)
        | Finding::DigestPending(_)
        | Finding::NoBuildKnown { .. }
        | Finding::JustStarted { .. }
        | Finding::Waiting(_) => return None,
    })
}

fn kind_list(kinds: &[Kind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `namespace/pod` of a build, or nothing.
fn pod_ref(b: Option<&Build>) -> String {
    b.map(|b| b.pod_ref()).unwrap_or_default()
}

/// The short digest a build pushed, or nothing.
fn pushed_short(b: Option<&Build>) -> String {
    b.and_then(|b| b.digest.as_ref())
        .map(|d| d.short().to_string())
        .unwrap_or_default()
}

fn stale_summary(container: &ContainerVerdict, build: Option<&Build>) -> String {
    let runs = container
        .running_digests
        .iter()
        .filter_map(|s| Digest::parse(s))
        .map(|d| d.short().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(r) = build.and_then(|b| b.registry.as_ref()) {
        return format!(
            "Container {} runs {runs} but {} has pointed {} to {} since {}: the pods run an older or cached image.",
            container.name,
            registry::host_of(&r.name),
            r.name,
            pushed_short(build),
            fmt_ts(Some(r.moved_at)),
        );
    }
    format!(
        "Container {} runs {runs} but build {} pushed {} at {}: the pods run an older or cached image.",
        container.name,
        pod_ref(build),
        pushed_short(build),
        fmt_ts(build.and_then(|b| b.finished_at)),
    )
}

fn verified_summary(build: Option<&Build>, pods: usize, matched: usize) -> String {
    if matched > 1 {
        return format!("All {pods} pods run the digests their {matched} builds pushed.");
    }
    if let Some(r) = build.and_then(|b| b.registry.as_ref()) {
        return format!(
            "{} {}, the digest {} answers for {} (asked at {}).",
            if pods == 1 {
                "The 1 pod runs".to_string()
            } else {
                format!("All {pods} pods run")
            },
            pushed_short(build),
            registry::host_of(&r.name),
            r.name,
            fmt_ts(Some(r.answered_at))
        );
    }
    format!(
        "{} {} pushed by build {} at {}.",
        if pods == 1 {
            "The 1 pod runs".to_string()
        } else {
            format!("All {pods} pods run")
        },
        pushed_short(build),
        pod_ref(build),
        fmt_ts(build.and_then(|b| b.finished_at))
    )
}

/// What a converging rollout waits for.
fn waiting_summary(w: &Waiting<'_>) -> String {
    match w.cause {
        Cause::ScalingUp => "The autoscaler is adding capacity for pending pods; wait.".into(),
        Cause::PullingImage => "Pods are pulling their image; wait.".into(),
        Cause::Starting => format!(
            "{} of {} new pods ready, the others are starting; wait.",
            w.ready, w.replicas
        ),
        _ if w.young_problems => format!(
            "Pods are held for less than {} ({}); wait before acting.",
            human(w.blocked_after),
            w.status
        ),
        _ => w.status.to_string(),
    }
}

fn failure_summary(cause: Cause, n: u32, message: &str, since: Option<Timestamp>) -> String {
    let one = n == 1;
    format!(
        "{n} pod{} of the new rollout {} since {}: {message}",
        if one { "" } else { "s" },
        match (cause, one) {
            (Cause::CrashLoop, true) => "crash-loops",
            (Cause::CrashLoop, false) => "crash-loop",
            (Cause::OomKilled, true) => "is OOM-killed",
            (Cause::OomKilled, false) => "are OOM-killed",
            (Cause::ConfigError, _) => "cannot start (configuration error)",
            (Cause::ReadinessFailing, true) => "never becomes ready",
            (Cause::ReadinessFailing, false) => "never become ready",
            (_, true) => "fails",
            (_, false) => "fail",
        },
        fmt_ts(since)
    )
}

fn failure_next_step(cause: Cause, ns: &str, pod: &str, container: Option<&str>) -> String {
    match cause {
        Cause::CrashLoop => {
            let c = container.map(|c| format!(" -c {c}")).unwrap_or_default();
            format!("kubectl logs -n {ns} {pod}{c} --previous")
        }
        Cause::OomKilled => format!(
            "Raise the memory limit or fix the leak; see kubectl describe pod -n {ns} {pod}"
        ),
        _ => format!("kubectl describe pod -n {ns} {pod}"),
    }
}

fn blocked_summary(primary: BlockerReason, p: &BlockerReport) -> String {
    format!(
        "{} pod{} blocked by {} since {} (owner: {}): {}",
        p.pods,
        if p.pods == 1 { "" } else { "s" },
        primary.as_str(),
        fmt_ts(p.since),
        p.owner.as_str(),
        p.message
    )
}

/// What to do about a blocker reason, with the command that shows it.
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
    if s.image_id_raw.is_empty() {
        return format!(
            "pod {} container {}: runs but reports no imageID",
            p.meta.full_name(),
            s.name
        );
    }
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
        (Some(DigestSource::Registry), Some(d)) => match &b.registry {
            Some(r) => {
                let mut e = format!(
                    "registry {} answered {} -> {d} at {}; the tag moved there at {} ({})",
                    registry::host_of(&r.name),
                    r.name,
                    fmt_ts(Some(r.answered_at)),
                    fmt_ts(Some(r.moved_at)),
                    if r.from_created {
                        "the image's created time"
                    } else {
                        "when kube-verdict first saw it"
                    }
                );
                if let Some(f) = &r.failing {
                    e.push_str(&format!(
                        "; it could not be asked again since {} ({}: {}), so that answer stands",
                        fmt_ts(Some(f.since)),
                        f.result.as_str(),
                        f.reason
                    ));
                }
                e
            }
            None => format!("registry answered {d}"),
        },
        (Some(DigestSource::TektonResult), Some(d)) => format!(
            "build pod {} reported Tekton result IMAGE_DIGEST {d}",
            b.pod_ref()
        ),
        (Some(DigestSource::Object(field)), Some(d)) => {
            format!("{} reported {field} {d}", b.pod_ref())
        }
        (Some(DigestSource::BuildkitMetadata), Some(d)) => format!(
            "build pod {} container {} exited 0 with BuildKit metadata containerimage.digest {d}",
            b.pod_ref(),
            b.container
        ),
        _ => {
            let who = match b.object {
                Some(_) => b.pod_ref(),
                None => format!("build pod {}", b.pod_ref()),
            };
            match b.status {
                BuildStatus::Succeeded => format!(
                    "{who} succeeded but {} no digest ({})",
                    if b.object.is_some() {
                        "reported"
                    } else {
                        "logged"
                    },
                    b.builder.no_digest_hint()
                ),
                BuildStatus::Failed => format!("{who} failed: {}", b.fatal_lines.join(" | ")),
                BuildStatus::Running => format!("{who} is running"),
            }
        }
    }
}

/// Why a container whose image no build pushed has no registry reference either: what its
/// registry answered (404, a failure) or that it has not answered yet. None when it was not
/// asked (lookups off, a pinned image).
pub(super) fn registry_state_evidence(name: &str, state: &TagState) -> Option<String> {
    let host = registry::host_of(name);
    let Some(e) = state.entry() else {
        return Some(format!("registry {host} has not answered about {name} yet"));
    };
    Some(match &e.answer {
        TagAnswer::Resolved { .. } => return None,
        TagAnswer::NotFound { answered_at } => format!(
            "registry {host} answered 404 for {name} at {}: the tag or the repository does not exist",
            fmt_ts(Some(*answered_at))
        ),
        TagAnswer::Failed {
            result,
            reason,
            answered_at,
        } => format!(
            "registry {host} could not be asked about {name} at {} ({}: {reason}): no reference digest",
            fmt_ts(Some(*answered_at)),
            result.as_str()
        ),
    })
}

/// A pod's image the registry answered 404 for.
pub(super) fn registry_not_found_message(name: &str, at: Timestamp, kubelet: &str) -> String {
    let mut m = format!(
        "registry {} answered 404 for {name} at {}: the tag or the repository does not exist",
        registry::host_of(name),
        fmt_ts(Some(at))
    );
    if !kubelet.is_empty() {
        m.push_str(&format!(" (the kubelet says: {kubelet})"));
    }
    m
}

/// A pod that runs the reference through an image index (DESIGN §7, multi-arch).
pub(super) fn index_match_evidence(
    p: &PodInfo,
    running: &Digest,
    reference: &Digest,
    index: &Digest,
    os: &str,
    arch: &str,
) -> String {
    // An unknown node platform (no Nodes listed): a manifest of the index for some platform.
    let platform = if os.is_empty() {
        "a".to_string()
    } else {
        format!("the {os}/{arch}")
    };
    let relation = match (index == reference, os.is_empty()) {
        (true, _) => format!("{platform} manifest of {}", reference.short()),
        (false, false) => format!(
            "an index whose {os}/{arch} manifest is {}",
            reference.short()
        ),
        (false, true) => format!("an index that lists {}", reference.short()),
    };
    format!(
        "pod {} runs {}, {relation}: matches via index {}",
        p.meta.full_name(),
        running.short(),
        index
    )
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

/// A scale-up in flight: the autoscaler's words, and Karpenter's repeated nominations.
pub(super) fn scale_up_message(up: &EventInfo, a: &super::pods::Autoscaler<'_>) -> String {
    match (a.nominations, a.first_nomination) {
        (n, Some(first)) if n > 1 => format!(
            "{} (Karpenter nominated it {n} times since {}; the pod is still pending)",
            up.message,
            fmt_ts(Some(first))
        ),
        _ => up.message.to_string(),
    }
}

/// A scale-up older than `--scale-up-window` with the pod still pending: it did not help.
pub(super) fn with_expired_scale_up(
    message: &str,
    up: &EventInfo,
    a: &super::pods::Autoscaler<'_>,
) -> String {
    let at = up
        .last
        .or(up.first)
        .map(|t| fmt_ts(Some(t)))
        .unwrap_or_default();
    let who = match (a.nominations, a.first_nomination) {
        (n, Some(first)) if n > 1 => {
            format!(
                "Karpenter nominated the pod {n} times since {}",
                fmt_ts(Some(first))
            )
        }
        _ if a.karpenter() => format!("Karpenter nominated the pod at {at}"),
        _ => format!("the cluster autoscaler triggered a scale-up at {at}"),
    };
    format!(
        "{message} {who} ({}), longer ago than --scale-up-window, and the pod is still pending: the new capacity did not help.",
        up.message
    )
}

/// A crash-looping container: its restarts and last exit.
pub(super) fn crash_loop_message(s: &ContainerStatus) -> String {
    let last = match s.last_state.terminated() {
        Some(t) => format!(" (last exit: {}, code {})", t.reason, t.exit_code),
        None => String::new(),
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

/// The rollout as `kubectl rollout status` tells it.
pub(super) fn deployment_evidence(d: &DeploymentInfo, ro: &Rollout<'_>) -> String {
    format!("deployment {}: {}", d.meta.full_name(), ro.status_line)
}

/// A complete rollout whose pods are not in the view.
pub(super) fn no_pods_evidence(d: &DeploymentInfo) -> String {
    format!(
        "no pods of {} found although its status reports {} available",
        d.meta.full_name(),
        d.status.available
    )
}

/// Pulls of a new pod that failed before the build pushed, when there were any.
pub(super) fn early_pull_evidence(p: &PodInfo, early: &[&EventInfo], b: &Build) -> Option<String> {
    let (first, last) = (early.first()?, early.last()?);
    Some(format!(
        "pod {}: {} image pull failures between {} and {}, before the build pushed at {}: the deploy outran the build, then recovered by itself",
        p.meta.full_name(),
        early
            .iter()
            .fold(0i32, |n, e| n.saturating_add(e.count.max(1))),
        fmt_ts(first.first),
        fmt_ts(last.last),
        fmt_ts(b.finished_at)
    ))
}

/// What a new pod shows, unless it is ready.
pub(super) fn pod_state_evidence(p: &PodInfo, state: &PodState, now: Timestamp) -> Option<String> {
    let held = |since: &Option<Timestamp>| {
        age(now, *since)
            .map(human)
            .unwrap_or_else(|| "an unknown time".into())
    };
    let pod = p.meta.full_name();
    match state {
        PodState::Ready => None,
        PodState::Progress(c, m) => Some(format!("pod {pod}: {} ({m})", c.as_str())),
        PodState::Blocker {
            primary,
            message,
            since,
            ..
        } => Some(format!(
            "pod {pod}: {} for {}: {message}",
            primary.as_str(),
            held(since)
        )),
        PodState::Failure {
            cause,
            message,
            since,
        } => Some(format!(
            "pod {pod}: {} for {}: {message}",
            cause.as_str(),
            held(since)
        )),
    }
}

/// Why the new ReplicaSet cannot create pods.
pub(super) fn replica_set_evidence(
    d: &DeploymentInfo,
    new_rs: Option<&ReplicaSetInfo>,
    b: &RsBlocker,
) -> String {
    format!(
        "replicaset {}/{}: {}: {}",
        d.meta.namespace,
        new_rs.map(|r| r.meta.name.as_str()).unwrap_or("?"),
        b.reason.as_str(),
        b.message
    )
}

/// The Deployment's progress deadline passed.
pub(super) fn deadline_evidence(d: &DeploymentInfo, c: &Condition) -> String {
    format!(
        "deployment {}: Progressing=False ProgressDeadlineExceeded at {}: {}",
        d.meta.full_name(),
        fmt_ts(c.last_transition),
        c.message
    )
}

#[cfg(test)]
mod tests {
    use super::{fmt_ts, human};
    use crate::engine::testing::now;
    use jiff::SignedDuration;

    #[test]
    fn durations_and_times_read_as_people_write_them() {
        let secs = |s| human(SignedDuration::from_secs(s));
        assert_eq!(
            [secs(-5), secs(59), secs(150), secs(3720)],
            ["0s", "59s", "2m30s", "1h02m"].map(String::from)
        );
        assert_eq!(fmt_ts(Some(now())), "10:15:00");
        assert_eq!(fmt_ts(None), "an unknown time");
    }
}
