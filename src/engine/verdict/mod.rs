//! Verdicts: takes the cluster view, the builds found in it, a policy and an explicit `now`, and
//! returns one `DeploymentVerdict` per Deployment with cause, owner, summary, next step and the
//! evidence behind it (DESIGN §5). Pure: the same inputs always give the same verdict.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::builds::{Build, BuildStatus};
use super::events::{BlockerReason, Owner};
use super::image::Digest;
use super::rollout;
use super::view::{ClusterView, DeploymentInfo, EventInfo, NodeInfo, PodInfo, condition};

mod blockers;
mod containers;
mod pods;
#[cfg(test)]
mod tests;
mod wording;

use blockers::{precedence, replica_set_blocker};
use containers::{ContainerJudgement, DigestJudgement, judge_container};
use pods::{PodState, failing_container, pod_state};
pub use wording::human;
use wording::{blocker_next_step, dest_names, fmt_ts};

/// The verdict of DESIGN §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Rollout complete and every container with a known build runs the built digest.
    Verified,
    /// Rollout complete, but no digest proof.
    Complete,
    /// Not done yet, and still moving: wait.
    Converging,
    /// Pods run a digest other than the newest successful build: restart the rollout.
    Stale,
    /// Pods cannot start without a human: see the blocker and its owner.
    Blocked,
    /// The build or the application itself fails.
    Failed,
    /// Not enough data to judge.
    Unknown,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Verified,
        Verdict::Complete,
        Verdict::Converging,
        Verdict::Stale,
        Verdict::Blocked,
        Verdict::Failed,
        Verdict::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Complete => "complete",
            Verdict::Converging => "converging",
            Verdict::Stale => "stale",
            Verdict::Blocked => "blocked",
            Verdict::Failed => "failed",
            Verdict::Unknown => "unknown",
        }
    }

    /// Verified, complete, stale, blocked and failed do not change without a new event worth
    /// acting on; `check --wait` stops on them.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Verdict::Converging | Verdict::Unknown)
    }

    /// The `check` exit code (DESIGN §3) contributed by this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Verified | Verdict::Complete => 0,
            Verdict::Converging | Verdict::Unknown => 3,
            Verdict::Stale | Verdict::Blocked | Verdict::Failed => 4,
        }
    }
}

/// The bounded cause of a verdict: what a person concludes from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// The pods run exactly the digest the newest build pushed: the deploy is what was built.
    DigestMatch,
    /// The rollout finished, but no build of its image is known: its image is not proven.
    NoBuildKnown,
    /// A build is known, but its digest or the pods' digest cannot be read (no digest logged,
    /// a node-local image ID, no pods): the rollout finished without proof.
    DigestUnavailable,
    /// The build of the image is still running: the new image does not exist yet; wait.
    BuildRunning,
    /// A newer build pushed moments ago (within `--rollout-grace`) and the pods do not run it
    /// yet: the rollout should pick it up; wait.
    AwaitingRollout,
    /// The rollout is under way (or has just begun) with nothing specific to wait for; wait.
    RolloutProgressing,
    /// Pods are pending while an autoscaler adds nodes for them; wait.
    ScalingUp,
    /// Pods are pulling their image; wait.
    PullingImage,
    /// Containers are being created or run without being ready yet; wait.
    Starting,
    /// The pods run a digest other than the newest build pushed (an older or cached image):
    /// restart the rollout.
    DigestMismatch,
    /// Pods cannot start for this reason (capacity, placement, image pull, quota, ...) and will
    /// not without a human: act on the reason, its owner is named.
    Blocker(BlockerReason),
    /// The build of the image failed: the attempted deploy cannot happen; read the build log.
    BuildFailed,
    /// New pods keep crashing and restarting: the application fails; read the previous log.
    CrashLoop,
    /// New pods are killed for exceeding their memory limit: raise it or fix the leak.
    OomKilled,
    /// New pods run but their probes fail, so they never become ready: the application is
    /// unhealthy.
    ReadinessFailing,
    /// Containers cannot be created from their configuration (a missing ConfigMap, Secret or
    /// key, a bad command, a failing hook): fix the deployment's configuration.
    ConfigError,
    /// The rollout passed its progress deadline and nothing is moving any more: it is stuck
    /// without a more specific reason; describe the deployment.
    ProgressDeadlineExceeded,
    /// Not every kind of object has been listed yet: no verdict can be trusted so far.
    NotSynced,
    /// The rollout is incomplete and no pod of the new ReplicaSet is known, with no event
    /// saying why: look at the ReplicaSets and pods yourself.
    NoPods,
    /// The API server refused to list a kind of object (RBAC 403): grant kube-verdict access
    /// before any verdict.
    Forbidden,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::DigestMatch => "digest_match",
            Cause::NoBuildKnown => "no_build_known",
            Cause::DigestUnavailable => "digest_unavailable",
            Cause::BuildRunning => "build_running",
            Cause::AwaitingRollout => "awaiting_rollout",
            Cause::RolloutProgressing => "rollout_progressing",
            Cause::ScalingUp => "scaling_up",
            Cause::PullingImage => "pulling_image",
            Cause::Starting => "starting",
            Cause::DigestMismatch => "digest_mismatch",
            Cause::Blocker(r) => r.as_str(),
            Cause::BuildFailed => "build_failed",
            Cause::CrashLoop => "crash_loop",
            Cause::OomKilled => "oom_killed",
            Cause::ReadinessFailing => "readiness_failing",
            Cause::ConfigError => "config_error",
            Cause::ProgressDeadlineExceeded => "progress_deadline_exceeded",
            Cause::NotSynced => "not_synced",
            Cause::NoPods => "no_pods",
            Cause::Forbidden => "forbidden",
        }
    }

    /// Causes a team owns (blocked, failed, stale), for the `--owners` table.
    pub const OWNED: [Cause; 7] = [
        Cause::DigestMismatch,
        Cause::BuildFailed,
        Cause::CrashLoop,
        Cause::OomKilled,
        Cause::ReadinessFailing,
        Cause::ConfigError,
        Cause::ProgressDeadlineExceeded,
    ];

    fn default_owner(self) -> Owner {
        match self {
            Cause::Blocker(r) => r.default_owner(),
            Cause::DigestMismatch => Owner::Platform,
            Cause::BuildFailed
            | Cause::CrashLoop
            | Cause::OomKilled
            | Cause::ReadinessFailing
            | Cause::ConfigError
            | Cause::ProgressDeadlineExceeded => Owner::Application,
            _ => Owner::None,
        }
    }
}

impl Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How builds of other tags in the same repository count (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkBuilds {
    /// Only builds of the exact image name decide; others are evidence.
    #[default]
    Exact,
    /// A running or failed build of any tag of the repository also decides.
    Repository,
}

/// Who owns which cause: DESIGN §6 defaults, overridable per cluster.
#[derive(Debug, Clone, Default)]
pub struct OwnerTable {
    overrides: HashMap<String, Owner>,
}

impl OwnerTable {
    /// Overrides the owner of a cause label (`insufficient_cpu`, `digest_mismatch`, ...).
    /// Returns an error naming the key when it is not an owned cause.
    pub fn set(&mut self, cause: &str, owner: Owner) -> Result<(), String> {
        let known = BlockerReason::parse(cause).is_some()
            || Cause::OWNED.iter().any(|c| c.as_str() == cause);
        if !known {
            return Err(format!(
                "unknown cause {cause:?}: expected a blocker reason (e.g. insufficient_cpu) or one of {}",
                Cause::OWNED.map(|c| c.as_str()).join(", ")
            ));
        }
        self.overrides.insert(cause.to_string(), owner);
        Ok(())
    }

    pub fn owner(&self, cause: Cause) -> Owner {
        self.overrides
            .get(cause.as_str())
            .copied()
            .unwrap_or_else(|| cause.default_owner())
    }
}

/// The knobs of the verdict engine.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a blocker or failure must persist before it is declared (default 2 minutes).
    pub blocked_after: SignedDuration,
    /// How long a newer build may wait for its rollout before the pods are called stale.
    pub rollout_grace: SignedDuration,
    pub link_builds: LinkBuilds,
    pub owners: OwnerTable,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            blocked_after: SignedDuration::from_mins(2),
            rollout_grace: SignedDuration::from_mins(5),
            link_builds: LinkBuilds::Exact,
            owners: OwnerTable::default(),
        }
    }
}

/// The build a container is judged against, as reported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildReport {
    pub builder: &'static str,
    /// `namespace/pod`.
    pub pod: String,
    pub status: BuildStatus,
    pub digest: Option<String>,
    pub finished_at: Option<Timestamp>,
}

/// One container of a Deployment's template.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContainerVerdict {
    pub name: String,
    pub image: String,
    pub build: Option<BuildReport>,
    pub running_digests: Vec<String>,
    pub digest_match: Option<bool>,
}

/// One blocker reason of a Deployment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockerReport {
    pub reason: BlockerReason,
    pub owner: Owner,
    /// Pods of the rollout held by this reason.
    pub pods: u32,
    /// Nodes that rejected a pod for this reason (the largest count seen), 0 when not a
    /// scheduling reason.
    pub nodes: u32,
    pub message: String,
    pub since: Option<Timestamp>,
    /// True for the reason that decides the verdict's cause.
    pub primary: bool,
}

/// The verdict on one Deployment (the JSON object of DESIGN §3).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeploymentVerdict {
    pub namespace: String,
    pub name: String,
    pub verdict: Verdict,
    pub cause: Cause,
    pub owner: Owner,
    /// The primary container's image as written in the spec (the `image` label of DESIGN §8).
    pub image: String,
    pub summary: String,
    pub next_step: Option<String>,
    pub containers: Vec<ContainerVerdict>,
    pub blockers: Vec<BlockerReport>,
    pub evidence: Vec<String>,
}

/// Judges every Deployment in the view.
pub fn judge_all(
    view: &ClusterView,
    builds: &[Build],
    policy: &Policy,
    now: Timestamp,
) -> Vec<DeploymentVerdict> {
    view.deployments()
        .map(|d| judge(view, builds, d, policy, now))
        .collect()
}

fn age(now: Timestamp, since: Option<Timestamp>) -> Option<SignedDuration> {
    since.map(|s| now.duration_since(s))
}

/// Judges one Deployment.
pub fn judge(
    view: &ClusterView,
    builds: &[Build],
    d: &DeploymentInfo,
    policy: &Policy,
    now: Timestamp,
) -> DeploymentVerdict {
    let ns = d.meta.namespace.clone();
    let name = d.meta.name.clone();
    let mut evidence: Vec<String> = Vec::new();
    let primary_image = d
        .containers
        .first()
        .map(|c| c.image.clone())
        .unwrap_or_default();
    let mut out = DeploymentVerdict {
        namespace: ns.clone(),
        name: name.clone(),
        verdict: Verdict::Unknown,
        cause: Cause::NotSynced,
        owner: Owner::None,
        image: primary_image,
        summary: String::new(),
        next_step: None,
        containers: Vec::new(),
        blockers: Vec::new(),
        evidence: Vec::new(),
    };
    if !view.is_synced() {
        let forbidden: Vec<&str> = view.forbidden().iter().map(|k| k.as_str()).collect();
        if !forbidden.is_empty() {
            out.cause = Cause::Forbidden;
            out.summary = format!(
                "Not judged: kube-verdict may not list {} (the API server answered 403).",
                forbidden.join(", ")
            );
            out.next_step = Some(
                "Grant get/list/watch on those resources to kube-verdict's ServiceAccount (deploy/base/rbac.yaml)".into(),
            );
            return out;
        }
        let kinds: Vec<&str> = view.unsynced().iter().map(|k| k.as_str()).collect();
        out.summary = format!("Not judged yet: still listing {}.", kinds.join(", "));
        return out;
    }

    let ro = rollout::analyse(view, d);
    evidence.push(format!("deployment {ns}/{name}: {}", ro.status_line));

    // ---- containers and their builds
    let running_pods: Vec<&PodInfo> = ro
        .new_pods
        .iter()
        .chain(ro.old_pods.iter())
        .copied()
        .filter(|p| !p.meta.deleting)
        .collect();
    let mut containers = Vec::new();
    let mut judged: Vec<ContainerJudgement> = Vec::new();
    for c in &d.containers {
        let cj = judge_container(
            c,
            builds,
            ro.complete,
            &running_pods,
            policy,
            now,
            &mut evidence,
        );
        containers.push(cj.report.clone());
        judged.push(cj);
    }
    // The `image` label: the first container with a known build, else the first container.
    if let Some(cj) = judged.iter().find(|j| j.report.build.is_some()) {
        out.image = cj.report.image.clone();
    }
    out.containers = containers;

    let set = |out: &mut DeploymentVerdict, v: Verdict, c: Cause| {
        out.verdict = v;
        out.cause = c;
        out.owner = if matches!(v, Verdict::Stale | Verdict::Blocked | Verdict::Failed) {
            policy.owners.owner(c)
        } else {
            Owner::None
        };
    };

    // ---- 1. a failed build of this image: the deploy the platform attempted cannot happen.
    if let Some(j) = judged.iter().find(|j| j.deciding_failed.is_some()) {
        if let Some(b) = j.deciding_failed {
            set(&mut out, Verdict::Failed, Cause::BuildFailed);
            let why = b
                .fatal_lines
                .first()
                .cloned()
                .unwrap_or_else(|| "no error line found".into());
            out.summary = format!(
                "Build {} of {} failed at {}: {}",
                b.pod_ref(),
                dest_names(&b),
                fmt_ts(b.finished_at),
                why
            );
            out.next_step = Some(format!(
                "kubectl logs -n {} {} -c {}",
                b.namespace, b.pod, b.container
            ));
            out.evidence = evidence;
            return out;
        }
    }

    // ---- 2. a build still running: the new image does not exist yet.
    if let Some(b) = judged.iter().find_map(|j| j.deciding_running.as_ref()) {
        set(&mut out, Verdict::Converging, Cause::BuildRunning);
        out.summary = format!(
            "Build {} of {} is still running (started {}); wait for its push.",
            b.pod_ref(),
            dest_names(b),
            fmt_ts(b.started_at)
        );
        out.evidence = evidence;
        return out;
    }

    // ---- 3. rollout complete: compare digests.
    if ro.complete && d.spec_replicas == 0 {
        set(
            &mut out,
            Verdict::Complete,
            if judged.iter().any(|j| j.report.build.is_some()) {
                Cause::DigestUnavailable
            } else {
                Cause::NoBuildKnown
            },
        );
        out.summary = "Scaled to 0 replicas: nothing runs, so no digest can be checked.".into();
        out.evidence = evidence;
        return out;
    }
    if ro.complete {
        if ro.new_pods.is_empty() && ro.old_pods.is_empty() {
            evidence.push(format!(
                "no pods of {ns}/{name} found although its status reports {} available",
                d.status.available
            ));
        }
        let stale: Vec<&ContainerJudgement> = judged
            .iter()
            .filter(|j| j.digest == DigestJudgement::Mismatch)
            .collect();
        let awaiting: Vec<&ContainerJudgement> = judged
            .iter()
            .filter(|j| j.digest == DigestJudgement::AwaitingRollout)
            .collect();
        let matched = judged
            .iter()
            .filter(|j| j.digest == DigestJudgement::Match)
            .count();
        let unavailable = judged
            .iter()
            .filter(|j| j.digest == DigestJudgement::Unavailable)
            .count();
        if let Some(j) = stale.first() {
            set(&mut out, Verdict::Stale, Cause::DigestMismatch);
            let b = j.build.as_ref();
            out.summary = format!(
                "Container {} runs {} but build {} pushed {} at {}: the pods run an older or cached image.",
                j.report.name,
                j.report
                    .running_digests
                    .iter()
                    .filter_map(|s| Digest::parse(s))
                    .map(|d| d.short().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                b.map(|b| b.pod_ref()).unwrap_or_default(),
                b.and_then(|b| b.digest.as_ref())
                    .map(|d| d.short().to_string())
                    .unwrap_or_default(),
                fmt_ts(b.and_then(|b| b.finished_at)),
            );
            out.next_step = Some(format!("kubectl rollout restart deployment/{name} -n {ns}"));
        } else if let Some(j) = awaiting.first() {
            set(&mut out, Verdict::Converging, Cause::AwaitingRollout);
            let b = j.build.as_ref();
            out.summary = format!(
                "Build {} pushed {} at {}, less than {} ago; the rollout has not picked it up yet.",
                b.map(|b| b.pod_ref()).unwrap_or_default(),
                b.and_then(|b| b.digest.as_ref())
                    .map(|d| d.short().to_string())
                    .unwrap_or_default(),
                fmt_ts(b.and_then(|b| b.finished_at)),
                human(policy.rollout_grace)
            );
        } else if matched > 0 && unavailable == 0 {
            set(&mut out, Verdict::Verified, Cause::DigestMatch);
            let j = judged.iter().find(|j| j.digest == DigestJudgement::Match);
            let b = j.and_then(|j| j.build.as_ref());
            let pods = running_pods.len();
            out.summary = format!(
                "{} {} pushed by build {} at {}.",
                if pods == 1 {
                    "The 1 pod runs".to_string()
                } else {
                    format!("All {pods} pods run")
                },
                b.and_then(|b| b.digest.as_ref())
                    .map(|d| d.short().to_string())
                    .unwrap_or_default(),
                b.map(|b| b.pod_ref()).unwrap_or_default(),
                fmt_ts(b.and_then(|b| b.finished_at))
            );
            // The false alarm this tool exists for: pulls that failed before the push.
            if let Some(b) = b {
                for p in &ro.new_pods {
                    let events = view.events_for(&ns, "Pod", &p.meta.name);
                    let early: Vec<&&EventInfo> = events
                        .iter()
                        .filter(|e| {
                            e.reason == "Failed" && e.message.starts_with("Failed to pull image")
                        })
                        .filter(|e| {
                            b.finished_at
                                .is_some_and(|f| e.last.is_some_and(|l| l <= f))
                        })
                        .collect();
                    if let (Some(first), Some(last)) = (early.first(), early.last()) {
                        evidence.push(format!(
                            "pod {}: {} image pull failures between {} and {}, before the build pushed at {}: the deploy outran the build, then recovered by itself",
                            p.meta.full_name(),
                            early.iter().map(|e| e.count.max(1)).sum::<i32>(),
                            fmt_ts(first.first),
                            fmt_ts(last.last),
                            fmt_ts(b.finished_at)
                        ));
                    }
                }
            }
            if matched > 1 {
                out.summary =
                    format!("All {pods} pods run the digests their {matched} builds pushed.");
            }
        } else if judged.iter().any(|j| j.build.is_some()) {
            set(&mut out, Verdict::Complete, Cause::DigestUnavailable);
            out.summary = "Rollout complete, but the digest cannot be compared: the build logged no digest or the runtime reports no repo digest.".into();
        } else {
            set(&mut out, Verdict::Complete, Cause::NoBuildKnown);
            out.summary = format!(
                "Rollout complete ({} of {} replicas available); no build of its image is known.",
                d.status.available, d.spec_replicas
            );
        }
        out.evidence = evidence;
        return out;
    }

    // ---- 4. rollout not complete: what do the new pods show?
    let nodes: Vec<&NodeInfo> = view.nodes().collect();
    let mut states: Vec<(&PodInfo, PodState)> = Vec::new();
    for p in &ro.new_pods {
        let st = pod_state(view, p, &nodes);
        match &st {
            PodState::Ready => {}
            PodState::Progress(c, m) => {
                evidence.push(format!("pod {}: {} ({m})", p.meta.full_name(), c.as_str()))
            }
            PodState::Blocker {
                primary,
                message,
                since,
                ..
            } => evidence.push(format!(
                "pod {}: {} for {}: {message}",
                p.meta.full_name(),
                primary.as_str(),
                age(now, *since)
                    .map(human)
                    .unwrap_or_else(|| "an unknown time".into())
            )),
            PodState::Failure {
                cause,
                message,
                since,
            } => evidence.push(format!(
                "pod {}: {} for {}: {message}",
                p.meta.full_name(),
                cause.as_str(),
                age(now, *since)
                    .map(human)
                    .unwrap_or_else(|| "an unknown time".into())
            )),
        }
        states.push((p, st));
    }
    // ReplicaSet-level blockers: pods that could not even be created.
    let rs_blocker = replica_set_blocker(view, d, &ro);
    if let Some((reason, message, _)) = &rs_blocker {
        evidence.push(format!(
            "replicaset {ns}/{}: {}: {message}",
            ro.new_rs.map(|r| r.meta.name.as_str()).unwrap_or("?"),
            reason.as_str()
        ));
    }

    let mature =
        |since: &Option<Timestamp>| age(now, *since).is_none_or(|a| a >= policy.blocked_after);

    // 4a. application failures that persisted.
    let mut failures: BTreeMap<Cause, (u32, String, Option<Timestamp>, String)> = BTreeMap::new();
    for (p, st) in &states {
        if let PodState::Failure {
            cause,
            message,
            since,
        } = st
            && mature(since)
        {
            let e =
                failures
                    .entry(*cause)
                    .or_insert((0, message.clone(), *since, p.meta.name.clone()));
            e.0 += 1;
            e.2 = e.2.min(*since).or(*since);
        }
    }
    if let Some((cause, (n, message, since, pod))) = failures
        .iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(a.0)))
    {
        set(&mut out, Verdict::Failed, *cause);
        let one = *n == 1;
        out.summary = format!(
            "{n} pod{} of the new rollout {} since {}: {message}",
            if one { "" } else { "s" },
            match (cause, one) {
                (Cause::CrashLoop, true) => "crash-loops",
                (Cause::CrashLoop, false) => "crash-loop",
                (Cause::OomKilled, true) => "is OOM-killed",
                (Cause::OomKilled, false) => "are OOM-killed",
                (Cause::ConfigError, true) => "cannot start (configuration error)",
                (Cause::ConfigError, false) => "cannot start (configuration error)",
                (Cause::ReadinessFailing, true) => "never becomes ready",
                (Cause::ReadinessFailing, false) => "never become ready",
                (_, true) => "fails",
                (_, false) => "fail",
            },
            fmt_ts(*since)
        );
        let container = failing_container(view, &ns, pod);
        out.next_step = Some(match cause {
            Cause::CrashLoop => format!("kubectl logs -n {ns} {pod}{container} --previous"),
            Cause::OomKilled => format!(
                "Raise the memory limit or fix the leak; see kubectl describe pod -n {ns} {pod}"
            ),
            _ => format!("kubectl describe pod -n {ns} {pod}"),
        });
        out.evidence = evidence;
        return out;
    }

    // 4b. blockers that persisted (or that an autoscaler declared hopeless).
    let mut agg: BTreeMap<BlockerReason, BlockerReport> = BTreeMap::new();
    let mut primary_votes: BTreeMap<BlockerReason, u32> = BTreeMap::new();
    let mut blocked_pods = 0;
    for (_, st) in &states {
        if let PodState::Blocker {
            reasons,
            primary,
            message,
            since,
            definitive,
        } = st
            && (*definitive || mature(since))
        {
            blocked_pods += 1;
            *primary_votes.entry(*primary).or_default() += 1;
            for (r, n) in reasons {
                let e = agg.entry(*r).or_insert_with(|| BlockerReport {
                    reason: *r,
                    owner: policy.owners.owner(Cause::Blocker(*r)),
                    pods: 0,
                    nodes: 0,
                    message: message.clone(),
                    since: *since,
                    primary: false,
                });
                e.pods += 1;
                e.nodes = e.nodes.max(*n);
                if since.is_some() && (e.since.is_none() || *since < e.since) {
                    e.since = *since;
                }
            }
        }
    }
    if let Some((reason, message, since)) = &rs_blocker
        && mature(since)
    {
        let missing = (d.spec_replicas - ro.new_pods.len() as i32).max(1) as u32;
        *primary_votes.entry(*reason).or_default() += missing;
        let e = agg.entry(*reason).or_insert_with(|| BlockerReport {
            reason: *reason,
            owner: policy.owners.owner(Cause::Blocker(*reason)),
            pods: 0,
            nodes: 0,
            message: message.clone(),
            since: *since,
            primary: false,
        });
        e.pods += missing;
    }
    let scaling_up = states
        .iter()
        .any(|(_, s)| matches!(s, PodState::Progress(Cause::ScalingUp, _)));
    if let Some(primary) = primary_votes
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(precedence(*b.0).cmp(&precedence(*a.0))))
        .map(|(r, _)| *r)
        && !(scaling_up && blocked_pods == 0 && rs_blocker.is_none())
    {
        if let Some(b) = agg.get_mut(&primary) {
            b.primary = true;
        }
        let mut blockers: Vec<BlockerReport> = agg.into_values().collect();
        blockers.sort_by(|a, b| {
            b.primary
                .cmp(&a.primary)
                .then(b.pods.cmp(&a.pods))
                .then(a.reason.cmp(&b.reason))
        });
        let p = &blockers[0];
        set(&mut out, Verdict::Blocked, Cause::Blocker(primary));
        out.summary = format!(
            "{} pod{} blocked by {} since {} (owner: {}): {}",
            p.pods,
            if p.pods == 1 { "" } else { "s" },
            primary.as_str(),
            fmt_ts(p.since),
            p.owner.as_str(),
            p.message
        );
        let pod = states
            .iter()
            .find(|(_, s)| matches!(s, PodState::Blocker { primary: x, .. } if *x == primary))
            .map(|(p, _)| p.meta.name.clone());
        out.next_step = Some(blocker_next_step(primary, &ns, &name, pod.as_deref()));
        out.blockers = blockers;
        out.evidence = evidence;
        return out;
    }

    // 4c. progress deadline exceeded with no live progress and nothing younger pending.
    let young_problems = states
        .iter()
        .any(|(_, s)| matches!(s, PodState::Blocker { .. } | PodState::Failure { .. }))
        || rs_blocker.is_some();
    let live_progress = states.iter().any(|(_, s)| {
        matches!(
            s,
            PodState::Progress(Cause::PullingImage | Cause::ScalingUp, _)
        )
    }) || ro.deadline_exceeded.is_some_and(|c| {
        ro.new_pods.iter().any(|p| {
            condition(&p.conditions, "Ready")
                .is_some_and(|r| r.is_true() && r.last_transition > c.last_transition)
        })
    });
    if let Some(c) = ro.deadline_exceeded {
        evidence.push(format!(
            "deployment {ns}/{name}: Progressing=False ProgressDeadlineExceeded at {}: {}",
            fmt_ts(c.last_transition),
            c.message
        ));
        if !live_progress && !young_problems {
            set(&mut out, Verdict::Failed, Cause::ProgressDeadlineExceeded);
            out.summary = format!(
                "The rollout exceeded its progress deadline at {} and nothing is moving: {}",
                fmt_ts(c.last_transition),
                c.message
            );
            out.next_step = Some(format!("kubectl describe deployment -n {ns} {name}"));
            out.evidence = evidence;
            return out;
        }
    }

    // 4d. nothing to show at all.
    if ro.new_pods.is_empty() && rs_blocker.is_none() && d.spec_replicas > 0 {
        let progressing = condition(&d.conditions, "Progressing");
        let recent = progressing
            .and_then(|c| c.last_update.or(c.last_transition))
            .or(d.meta.created);
        if d.generation > d.observed_generation
            || age(now, recent).is_some_and(|a| a < policy.blocked_after)
        {
            set(&mut out, Verdict::Converging, Cause::RolloutProgressing);
            out.summary = format!("The rollout has just started: {}", ro.status_line);
        } else {
            set(&mut out, Verdict::Unknown, Cause::NoPods);
            out.summary = format!(
                "No pods of the new ReplicaSet are known and no event says why: {}",
                ro.status_line
            );
            out.next_step = Some(format!("kubectl get rs,pods -n {ns} -o wide"));
        }
        out.evidence = evidence;
        return out;
    }

    // 4e. converging: say what it waits for.
    let cause = [Cause::ScalingUp, Cause::PullingImage, Cause::Starting]
        .into_iter()
        .find(|c| {
            states
                .iter()
                .any(|(_, s)| matches!(s, PodState::Progress(x, _) if x == c))
        })
        .unwrap_or(Cause::RolloutProgressing);
    set(&mut out, Verdict::Converging, cause);
    let ready = states
        .iter()
        .filter(|(_, s)| matches!(s, PodState::Ready))
        .count();
    out.summary = match cause {
        Cause::ScalingUp => "The autoscaler is adding capacity for pending pods; wait.".to_string(),
        Cause::PullingImage => "Pods are pulling their image; wait.".to_string(),
        Cause::Starting => format!(
            "{ready} of {} new pods ready, the others are starting; wait.",
            d.spec_replicas
        ),
        _ if young_problems => format!(
            "Pods are held for less than {} ({}); wait before acting.",
            human(policy.blocked_after),
            ro.status_line
        ),
        _ => ro.status_line.clone(),
    };
    out.evidence = evidence;
    out
}
