//! Verdicts: takes the cluster view, the builds found in it, a policy and an explicit `now`, and
//! returns one `DeploymentVerdict` per Deployment with cause, owner, summary, next step and the
//! evidence behind it (DESIGN §5). Pure: the same inputs always give the same verdict.
//!
//! `judge` is a pipeline of steps, each deciding one thing and returning early with an
//! `Outcome`: the view is synced (`judge_sync`), no build decides (`judge_build_state`), then a
//! complete rollout is judged by its digests (`judge_complete`) and an incomplete one by what its
//! pods show (`judge_failures`, `judge_blockers`, `judge_deadline`, `judge_no_pods`,
//! `judge_progress`). Steps decide; `wording` tells the outcome to people.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::builds::{Build, BuildStatus};
use super::events::{BlockerReason, Owner};
use super::rollout::{self, Rollout};
use super::text::{MAX_QUOTE, cut};
use super::view::{ClusterView, Condition, DeploymentInfo, Kind, NodeInfo, PodInfo};

mod blockers;
mod complete;
mod containers;
mod next_steps;
mod pods;
mod progress;
#[cfg(test)]
mod tests;
mod wording;

use blockers::{RsBlocker, judge_blockers, replica_set_blocker};
use complete::judge_complete;
use containers::{ContainerJudgement, judge_build_state, judge_container};
use pods::{PodState, judge_failures, pod_state};
use progress::{judge_deadline, judge_no_pods, judge_progress};
pub use wording::human;

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

    /// The rollout is done: `verified` or `complete` (a platform report against it is a false
    /// negative; the rollout's duration is observed when a deployment turns so).
    pub fn is_done(self) -> bool {
        matches!(self, Verdict::Verified | Verdict::Complete)
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
    /// The build finished and its log (the only place its digest is) is still being read:
    /// the proof is on its way; wait.
    DigestPending,
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
            Cause::DigestPending => "digest_pending",
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
    /// How long an autoscaler's scale-up for a pending pod counts as progress (DESIGN §6,
    /// default 15 minutes).
    pub scale_up_window: SignedDuration,
    /// How long a newer build may wait for its rollout before the pods are called stale.
    pub rollout_grace: SignedDuration,
    pub link_builds: LinkBuilds,
    pub owners: OwnerTable,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            blocked_after: SignedDuration::from_mins(2),
            scale_up_window: SignedDuration::from_mins(15),
            rollout_grace: SignedDuration::from_mins(5),
            link_builds: LinkBuilds::Exact,
            owners: OwnerTable::default(),
        }
    }
}

/// Some pods of a container proven to run the build's digest, others reporting a node-local
/// image ID.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartialProof<'a> {
    pub container: &'a str,
    pub digest: &'a crate::engine::image::Digest,
    pub proven: usize,
    pub local: usize,
}

/// The build a container is judged against, as reported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildReport {
    /// `kaniko`, ..., or `registry`.
    pub builder: &'static str,
    /// `build` (an in-cluster build pushed it) or `registry` (the registry answered the tag).
    pub source: &'static str,
    /// `namespace/pod` of the build; null for a registry reference.
    pub pod: Option<String>,
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

impl DeploymentVerdict {
    /// Quotes at most [`MAX_QUOTE`] bytes in each text (summary, next step, blocker messages,
    /// evidence lines: an Event's message is free text of any length), and gives back the room
    /// the text was built with. A `format!`ed line grows by doubling (a 170-byte evidence line
    /// holds 320), and published verdicts are kept until the next judgement: with an evidence
    /// line per running pod, that slack was about 1.3 MB at 10,000 pods.
    fn compact(&mut self) {
        fn text(s: &mut String) {
            if s.len() > MAX_QUOTE {
                *s = cut(s, MAX_QUOTE).into_owned();
            }
            s.shrink_to_fit();
        }
        fn lines(v: &mut Vec<String>) {
            v.iter_mut().for_each(text);
            v.shrink_to_fit();
        }
        text(&mut self.summary);
        self.next_step.iter_mut().for_each(text);
        lines(&mut self.evidence);
        for c in &mut self.containers {
            lines(&mut c.running_digests);
        }
        self.containers.shrink_to_fit();
        self.blockers.iter_mut().for_each(|b| text(&mut b.message));
        self.blockers.shrink_to_fit();
    }
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

/// What a step decided: the verdict, its cause, and the facts its wording needs.
struct Outcome<'a> {
    verdict: Verdict,
    cause: Cause,
    finding: Finding<'a>,
}

impl<'a> Outcome<'a> {
    fn new(verdict: Verdict, cause: Cause, finding: Finding<'a>) -> Self {
        Outcome {
            verdict,
            cause,
            finding,
        }
    }
}

/// The facts behind an outcome, as `wording` tells them.
enum Finding<'a> {
    /// The API server refused to list these kinds.
    Forbidden(Vec<Kind>),
    /// These kinds are still being listed.
    Unsynced(Vec<Kind>),
    BuildFailed(&'a Build),
    BuildRunning(&'a Build),
    ScaledToZero,
    /// A container runs other digests than its build pushed.
    Stale {
        container: &'a ContainerVerdict,
        build: Option<&'a Build>,
    },
    AwaitingRollout {
        build: Option<&'a Build>,
        grace: SignedDuration,
    },
    Verified {
        build: Option<&'a Build>,
        pods: usize,
        /// Containers whose digest matched their build.
        matched: usize,
    },
    /// No digest proof; with partial proof, how far it goes (DESIGN §5).
    DigestUnavailable(Option<PartialProof<'a>>),
    /// The build's log, which holds its digest, is being read.
    DigestPending(&'a Build),
    NoBuildKnown {
        available: i32,
        replicas: i32,
    },
    /// New pods fail for an application cause.
    AppFailure {
        cause: Cause,
        pods: u32,
        message: String,
        since: Option<Timestamp>,
        /// The first failing pod, and its first container that is not ready.
        pod: String,
        container: Option<String>,
    },
    Blocked {
        primary: BlockerReason,
        /// The primary reason first.
        blockers: Vec<BlockerReport>,
        /// A pod held by the primary reason, if one is.
        pod: Option<String>,
    },
    DeadlineExceeded(&'a Condition),
    JustStarted {
        status: &'a str,
    },
    NoPods {
        status: &'a str,
    },
    /// The Deployment controller has not observed the spec for longer than --blocked-after.
    Unobserved {
        generation: i64,
        observed: i64,
        since: Option<jiff::Timestamp>,
    },
    Waiting(Waiting<'a>),
}

/// Converging: what the rollout waits for.
struct Waiting<'a> {
    cause: Cause,
    /// New pods ready, of `replicas`.
    ready: usize,
    replicas: i32,
    /// Pods are held or fail, but for less than `blocked_after`.
    young_problems: bool,
    blocked_after: SignedDuration,
    status: &'a str,
}

/// What every step of `judge` reads: its inputs, and what is derived from them once.
struct Ctx<'a> {
    view: &'a ClusterView,
    d: &'a DeploymentInfo,
    policy: &'a Policy,
    now: Timestamp,
    ro: Rollout<'a>,
    /// Non-terminating pods of the new and old ReplicaSets.
    running_pods: Vec<&'a PodInfo>,
    judged: Vec<ContainerJudgement<'a>>,
}

impl Ctx<'_> {
    /// True once a problem seen since `since` has lasted `--blocked-after` (or when its start is
    /// unknown).
    fn mature(&self, since: Option<Timestamp>) -> bool {
        age(self.now, since).is_none_or(|a| a >= self.policy.blocked_after)
    }
}

/// What the new pods and the new ReplicaSet show while the rollout is incomplete.
struct Observed<'a> {
    states: Vec<(&'a PodInfo, PodState)>,
    /// Pods the ReplicaSet could not even create.
    rs_blocker: Option<RsBlocker>,
}

impl Observed<'_> {
    /// Some pod is held or fails, or the ReplicaSet cannot create pods (for less than
    /// `blocked_after`, once the steps that judge them have passed).
    fn young_problems(&self) -> bool {
        self.states
            .iter()
            .any(|(_, s)| matches!(s, PodState::Blocker { .. } | PodState::Failure { .. }))
            || self.rs_blocker.is_some()
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
    let mut out = unjudged(d);
    if let Some(outcome) = judge_sync(view) {
        tell(&mut out, outcome, d, policy);
        out.compact();
        return out;
    }
    let ro = rollout::analyse(view, d);
    let mut evidence = vec![wording::deployment_evidence(d, &ro)];
    let running_pods: Vec<&PodInfo> = ro
        .new_pods
        .iter()
        .chain(ro.old_pods.iter())
        .copied()
        .filter(|p| !p.meta.deleting)
        .collect();
    let judged: Vec<ContainerJudgement> = d
        .containers
        .iter()
        .map(|c| {
            judge_container(
                view,
                c,
                builds,
                ro.complete,
                &running_pods,
                policy,
                now,
                &mut evidence,
            )
        })
        .collect();
    // The `image` label: the first container with a known build, else the first container.
    if let Some(j) = judged.iter().find(|j| j.report.build.is_some()) {
        out.image = j.report.image.clone();
    }
    let ctx = Ctx {
        view,
        d,
        policy,
        now,
        ro,
        running_pods,
        judged,
    };
    let outcome = match judge_build_state(&ctx.judged) {
        Some(o) => o,
        None if ctx.ro.complete => judge_complete(&ctx, &mut evidence),
        None => judge_rollout(&ctx, &mut evidence),
    };
    tell(&mut out, outcome, d, policy);
    out.containers = ctx.judged.into_iter().map(|j| j.report).collect();
    out.evidence = evidence;
    out.compact();
    out
}

/// The verdict before any step: unknown, not synced, the primary container's image.
fn unjudged(d: &DeploymentInfo) -> DeploymentVerdict {
    DeploymentVerdict {
        namespace: d.meta.namespace.clone(),
        name: d.meta.name.clone(),
        verdict: Verdict::Unknown,
        cause: Cause::NotSynced,
        owner: Owner::None,
        image: d
            .containers
            .first()
            .map(|c| c.image.to_string())
            .unwrap_or_default(),
        summary: String::new(),
        next_step: None,
        containers: Vec::new(),
        blockers: Vec::new(),
        evidence: Vec::new(),
    }
}

/// Step 0: nothing is judged until every kind is listed.
fn judge_sync(view: &ClusterView) -> Option<Outcome<'static>> {
    if view.is_synced() {
        return None;
    }
    let forbidden = view.forbidden();
    Some(if forbidden.is_empty() {
        Outcome::new(
            Verdict::Unknown,
            Cause::NotSynced,
            Finding::Unsynced(view.unsynced()),
        )
    } else {
        Outcome::new(
            Verdict::Unknown,
            Cause::Forbidden,
            Finding::Forbidden(forbidden),
        )
    })
}

/// An incomplete rollout: what do the new pods show?
fn judge_rollout<'c>(ctx: &'c Ctx<'_>, evidence: &mut Vec<String>) -> Outcome<'c> {
    let seen = observe(ctx, evidence);
    judge_failures(ctx, &seen)
        .or_else(|| judge_blockers(ctx, &seen))
        .or_else(|| judge_deadline(ctx, &seen, evidence))
        .or_else(|| judge_no_pods(ctx, &seen))
        .unwrap_or_else(|| judge_progress(ctx, &seen))
}

/// The state of every new pod and the new ReplicaSet's blocker, with their evidence.
fn observe<'a>(ctx: &Ctx<'a>, evidence: &mut Vec<String>) -> Observed<'a> {
    let nodes: Vec<&NodeInfo> = ctx.view.nodes().collect();
    let mut states = Vec::new();
    for p in &ctx.ro.new_pods {
        let state = pod_state(ctx.view, p, &nodes, ctx.now, ctx.policy.scale_up_window);
        let state = pods::with_registry_answer(ctx.view, &ctx.d.containers, state);
        evidence.extend(wording::pod_state_evidence(p, &state, ctx.now));
        states.push((*p, state));
    }
    let rs_blocker = replica_set_blocker(ctx.view, ctx.d, &ctx.ro);
    if let Some(b) = &rs_blocker {
        evidence.push(wording::replica_set_evidence(ctx.d, ctx.ro.new_rs, b));
    }
    Observed { states, rs_blocker }
}

/// Writes an outcome into the verdict: verdict, cause, owner, summary, next step, blockers.
fn tell(out: &mut DeploymentVerdict, outcome: Outcome<'_>, d: &DeploymentInfo, policy: &Policy) {
    out.verdict = outcome.verdict;
    out.cause = outcome.cause;
    out.owner = owner(outcome.verdict, outcome.cause, policy);
    out.summary = wording::summary(&outcome.finding);
    out.next_step = wording::next_step(&outcome.finding, d);
    if let Finding::Blocked { blockers, .. } = outcome.finding {
        out.blockers = blockers;
    }
}

/// Stale, blocked and failed verdicts are owned (DESIGN §6, `--owners`); the others are not.
fn owner(verdict: Verdict, cause: Cause, policy: &Policy) -> Owner {
    if matches!(verdict, Verdict::Stale | Verdict::Blocked | Verdict::Failed) {
        policy.owners.owner(cause)
    } else {
        Owner::None
    }
}
