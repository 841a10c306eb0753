//! Verdicts: takes the cluster view, the builds found in it, a policy and an explicit `now`, and
//! returns one `DeploymentVerdict` per Deployment with cause, owner, summary, next step and the
//! evidence behind it (DESIGN §5). Pure: the same inputs always give the same verdict.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::builds::{Build, BuildStatus, DigestSource};
use super::events::{
    self, BlockerReason, MountFailure, Owner, SchedulingFailure, classify_image_pull,
    classify_karpenter_failure, classify_mount, classify_replica_failure, parse_failed_scheduling,
};
use super::image::{Digest, ImageRef};
use super::rollout::{self, Rollout};
use super::view::{
    ClusterView, ContainerState, DeploymentInfo, EventInfo, NodeInfo, PodInfo, condition,
};

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

/// The bounded cause of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    DigestMatch,
    NoBuildKnown,
    DigestUnavailable,
    BuildRunning,
    AwaitingRollout,
    RolloutProgressing,
    ScalingUp,
    PullingImage,
    Starting,
    DigestMismatch,
    Blocker(BlockerReason),
    BuildFailed,
    CrashLoop,
    OomKilled,
    ReadinessFailing,
    ConfigError,
    ProgressDeadlineExceeded,
    NotSynced,
    NoPods,
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

/// What one pod of the rollout shows.
#[derive(Debug, Clone)]
enum PodState {
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

fn fmt_ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|| "an unknown time".into())
}

fn age(now: Timestamp, since: Option<Timestamp>) -> Option<SignedDuration> {
    since.map(|s| now.duration_since(s))
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
        let cj = judge_container(c, builds, &ro, &running_pods, policy, now, &mut evidence);
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
        let b = j.deciding_failed.as_ref().map(|b| (*b).clone());
        if let Some(b) = b {
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

fn dest_names(b: &Build) -> String {
    b.destinations
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// DESIGN §6 order, for ties.
fn precedence(r: BlockerReason) -> usize {
    BlockerReason::ALL
        .iter()
        .position(|x| *x == r)
        .unwrap_or(usize::MAX)
}

fn failing_container(view: &ClusterView, ns: &str, pod: &str) -> String {
    view.pods_in(ns)
        .find(|p| p.meta.name == pod)
        .and_then(|p| p.statuses.iter().find(|s| !s.ready))
        .map(|s| format!(" -c {}", s.name))
        .unwrap_or_default()
}

fn blocker_next_step(r: BlockerReason, ns: &str, name: &str, pod: Option<&str>) -> String {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestJudgement {
    /// No build known for the image.
    NoBuild,
    Match,
    Mismatch,
    AwaitingRollout,
    /// A build is known but its digest or the running digest cannot be compared.
    Unavailable,
}

struct ContainerJudgement {
    report: ContainerVerdict,
    build: Option<Build>,
    digest: DigestJudgement,
    deciding_failed: Option<Box<Build>>,
    deciding_running: Option<Build>,
}

fn judge_container(
    c: &super::view::ContainerSpec,
    builds: &[Build],
    ro: &Rollout,
    pods: &[&PodInfo],
    policy: &Policy,
    now: Timestamp,
    evidence: &mut Vec<String>,
) -> ContainerJudgement {
    let image = ImageRef::parse(&c.image).ok();
    // running digests: every non-terminating pod's status for this container
    let mut running: BTreeSet<Digest> = BTreeSet::new();
    let mut local_ids = 0;
    for p in pods {
        if let Some(s) = p.statuses.iter().find(|s| s.name == c.name) {
            if !matches!(s.state, ContainerState::Running { .. }) && s.image_id_raw.is_empty() {
                continue;
            }
            match s.image_id().repo_digest() {
                Some(d) => {
                    running.insert(d.clone());
                    evidence.push(format!(
                        "pod {} container {}: imageID {}",
                        p.meta.full_name(),
                        c.name,
                        s.image_id_raw
                    ));
                }
                None if !s.image_id_raw.is_empty() => {
                    local_ids += 1;
                    evidence.push(format!(
                        "pod {} container {}: imageID {} is a node-local image ID, not a registry digest",
                        p.meta.full_name(),
                        c.name,
                        s.image_id_raw
                    ));
                }
                None => {}
            }
        }
    }
    let mut report = ContainerVerdict {
        name: c.name.clone(),
        image: c.image.clone(),
        build: None,
        running_digests: running.iter().map(|d| d.to_string()).collect(),
        digest_match: None,
    };
    let Some(image) = image else {
        return ContainerJudgement {
            report,
            build: None,
            digest: DigestJudgement::NoBuild,
            deciding_failed: None,
            deciding_running: None,
        };
    };
    let repo = image.repository();
    let name = image.name();
    let exact = |b: &&Build| {
        !b.no_push
            && if image.tag.is_some() {
                b.pushes_name(&name)
            } else {
                b.pushes_repository(&repo)
            }
    };
    let newest = |it: &mut dyn Iterator<Item = &Build>| -> Option<Build> {
        it.max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.pod.cmp(&b.pod)))
            .cloned()
    };
    let build = newest(&mut builds.iter().filter(exact));
    // Newer builds of the same repository under other tags.
    let related: Vec<&Build> = builds
        .iter()
        .filter(|b| !exact(b) && !b.no_push && b.pushes_repository(&repo))
        .filter(|b| build.as_ref().is_none_or(|x| b.started_at > x.started_at))
        .collect();
    for b in &related {
        evidence.push(format!(
            "build {} of {} ({}) is newer, in the same repository{}",
            b.pod_ref(),
            dest_names(b),
            b.status.as_str(),
            if policy.link_builds == LinkBuilds::Exact {
                "; not linked to this deployment (--link-builds=exact)"
            } else {
                ""
            }
        ));
    }
    let linked_newest = if policy.link_builds == LinkBuilds::Repository {
        related
            .iter()
            .copied()
            .max_by(|a, b| a.started_at.cmp(&b.started_at))
            .cloned()
    } else {
        None
    };

    let mut deciding_failed = None;
    let mut deciding_running = None;
    if let Some(b) = &build {
        match b.status {
            BuildStatus::Failed => deciding_failed = Some(Box::new(b.clone())),
            BuildStatus::Running => deciding_running = Some(b.clone()),
            BuildStatus::Succeeded => {}
        }
    }
    if let Some(b) = linked_newest {
        match b.status {
            BuildStatus::Failed if deciding_failed.is_none() => deciding_failed = Some(Box::new(b)),
            BuildStatus::Running if deciding_running.is_none() => deciding_running = Some(b),
            _ => {}
        }
    }

    let Some(b) = build else {
        return ContainerJudgement {
            report,
            build: None,
            digest: DigestJudgement::NoBuild,
            deciding_failed,
            deciding_running,
        };
    };
    // evidence for the build
    match (&b.digest_source, &b.digest) {
        (Some(DigestSource::LogLine(line)), _) => evidence.push(format!("build pod {} logged: {line}", b.pod_ref())),
        (Some(DigestSource::TerminationMessage), Some(d)) => evidence.push(format!(
            "build pod {} container {} exited 0 with termination message {d}",
            b.pod_ref(),
            b.container
        )),
        (Some(DigestSource::TektonResult), Some(d)) => evidence.push(format!("build pod {} reported Tekton result IMAGE_DIGEST {d}", b.pod_ref())),
        _ => match b.status {
            BuildStatus::Succeeded => evidence.push(format!(
                "build pod {} succeeded but logged no digest (kaniko before 1.8 logs none; use --digest-file=/dev/termination-log)",
                b.pod_ref()
            )),
            BuildStatus::Failed => evidence.push(format!("build pod {} failed: {}", b.pod_ref(), b.fatal_lines.join(" | "))),
            BuildStatus::Running => evidence.push(format!("build pod {} is running", b.pod_ref())),
        },
    }
    report.build = Some(BuildReport {
        builder: b.builder,
        pod: b.pod_ref(),
        status: b.status,
        digest: b.digest.as_ref().map(|d| d.to_string()),
        finished_at: b.finished_at,
    });
    let digest = match (&b.digest, b.status) {
        (Some(built), BuildStatus::Succeeded) if !running.is_empty() => {
            let all_match = running.iter().all(|d| d == built);
            report.digest_match = Some(all_match);
            if !all_match {
                for d in running.iter().filter(|d| *d != built) {
                    if let Some(o) = builds.iter().find(|o| o.digest.as_ref() == Some(d)) {
                        evidence.push(format!(
                            "running digest {} was pushed by the older build {} at {}",
                            d.short(),
                            o.pod_ref(),
                            fmt_ts(o.finished_at)
                        ));
                    }
                }
            }
            if all_match {
                DigestJudgement::Match
            } else if ro.complete {
                let fresh = b
                    .finished_at
                    .is_none_or(|f| now.duration_since(f) < policy.rollout_grace);
                if fresh {
                    DigestJudgement::AwaitingRollout
                } else {
                    DigestJudgement::Mismatch
                }
            } else {
                DigestJudgement::Unavailable
            }
        }
        _ => {
            if local_ids > 0 || b.status == BuildStatus::Succeeded {
                DigestJudgement::Unavailable
            } else {
                DigestJudgement::NoBuild
            }
        }
    };
    ContainerJudgement {
        report,
        build: Some(b),
        digest,
        deciding_failed,
        deciding_running,
    }
}

/// The latest event with one of these reasons for the pod.
fn latest<'a>(events: &[&'a EventInfo], reasons: &[&str]) -> Option<&'a EventInfo> {
    events
        .iter()
        .rev()
        .find(|e| reasons.contains(&e.reason.as_str()))
        .copied()
}

/// The earliest first-seen time of the events with one of these reasons.
fn earliest(events: &[&EventInfo], reasons: &[&str]) -> Option<Timestamp> {
    events
        .iter()
        .filter(|e| reasons.contains(&e.reason.as_str()))
        .filter_map(|e| e.first)
        .min()
}

/// What one pod of the rollout shows. Ages are judged by the caller (`--blocked-after`).
fn pod_state(view: &ClusterView, p: &PodInfo, nodes: &[&NodeInfo]) -> PodState {
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

/// FailedCreate on the new ReplicaSet (quota, admission) or the ReplicaFailure condition.
fn replica_set_blocker(
    view: &ClusterView,
    d: &DeploymentInfo,
    ro: &Rollout,
) -> Option<(BlockerReason, String, Option<Timestamp>)> {
    let ns = &d.meta.namespace;
    if let Some(rs) = ro.new_rs {
        let events = view.events_for(ns, "ReplicaSet", &rs.meta.name);
        let failed = latest(&events, &["FailedCreate"]);
        let created = latest(&events, &["SuccessfulCreate"]);
        if let Some(f) = failed
            && created.is_none_or(|c| c.last < f.last)
            && (rs.status.replicas < rs.spec_replicas
                || ro.new_pods.len() < rs.spec_replicas as usize)
        {
            let since = earliest(&events, &["FailedCreate"]);
            return Some((
                classify_replica_failure(&f.message),
                f.message.clone(),
                since,
            ));
        }
    }
    if let Some(c) = ro.replica_failure {
        return Some((
            classify_replica_failure(&c.message),
            c.message.clone(),
            c.last_transition,
        ));
    }
    let events = view.events_for(ns, "Deployment", &d.meta.name);
    if let Some(e) = latest(&events, &["ReplicaSetCreateError"])
        && ro.new_rs.is_none()
    {
        return Some((
            classify_replica_failure(&e.message),
            e.message.clone(),
            e.first,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
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
}
