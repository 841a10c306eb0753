//! Builds: all builder knowledge of the engine. Takes build pods and Jobs (recognised by the
//! builders in [`builder::BUILDERS`]) and the facts read from their logs, returns [`Build`]s with
//! destinations, status, pushed digest and finish time; says which logs are worth reading.
//!
//! Files: `builder.rs` (the trait), one file per builder (`kaniko.rs`), `detect.rs` (the
//! registry of builders, asked at projection time), `log.rs` (the log scanner). All are leaves
//! the view may use; this file joins them with the cluster view.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::image::{Digest, ImageRef, normalize_repository};
use super::k8s::PodPhase;
use super::registry::{self, TagAnswer};
use super::view::{
    ClusterView, ContainerSpec, ContainerState, JobInfo, LogState, PodInfo, Terminated,
};

pub mod buildah;
pub mod builder;
pub mod buildkit;
pub mod detect;
pub mod kaniko;
pub mod log;
pub mod objects;
pub mod tekton;
pub mod words;

pub use builder::{BuildStatus, Builder, BuilderKind};
pub use detect::{BUILDERS, may_be_build};
pub use log::{LogFacts, LogScanner, LogTime, MAX_LINE_BYTES, PushedDigest};

/// Where a build's digest came from, most trusted first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestSource {
    /// `--digest-file=/dev/termination-log` of a container that exited 0.
    TerminationMessage,
    /// A Tekton result (`IMAGE_DIGEST`, `<prefix>IMAGE_DIGEST`, `IMAGES`) in the termination
    /// message.
    TektonResult,
    /// BuildKit's `--metadata-file` (`containerimage.digest`) in the termination message.
    BuildkitMetadata,
    /// The `Pushed repo@sha256:…` log line, quoted.
    LogLine(String),
    /// The image's registry answered the tag's digest (see [`Build::registry`]).
    Registry,
    /// A build object's status field (`result IMAGE_DIGEST`, `status.output.digest`,
    /// `status.output.to.imageDigest`).
    Object(&'static str),
}

/// Where a registry-backed reference came from (DESIGN §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryOrigin {
    /// `registry/path:tag` asked.
    pub name: String,
    /// When the registry answered.
    pub answered_at: Timestamp,
    /// When the tag moved to this digest: the image's `created` time, else first seen.
    pub moved_at: Timestamp,
    /// Whether `moved_at` is the image's `created` time (else the time kube-verdict first saw
    /// the digest).
    pub from_created: bool,
    /// The refreshes that failed since this answer, if they do: it stands meanwhile.
    pub failing: Option<registry::Failing>,
}

/// One build of an image.
#[derive(Debug, Clone)]
pub struct Build {
    /// `kaniko`, ...
    pub builder: BuilderKind,
    pub namespace: String,
    /// The build pod's name (or the Job's, when its pods are gone).
    pub pod: String,
    /// The build pod's UID (empty for a Job whose pods are gone).
    pub pod_uid: String,
    pub container: String,
    pub destinations: Vec<ImageRef>,
    /// `registry/path:tag` of each destination, computed once.
    pub destination_names: Vec<String>,
    /// `registry/path` of each destination, computed once.
    pub destination_repos: Vec<String>,
    pub status: BuildStatus,
    pub digest: Option<Digest>,
    pub digest_source: Option<DigestSource>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The lines that say why a failed build failed.
    pub fatal_lines: Vec<String>,
    /// True when the build ran with `--no-push`: it can never be what a pod runs.
    pub no_push: bool,
    /// Set for the reference a registry answered (`builder` = `registry`): no pod built it.
    pub registry: Option<RegistryOrigin>,
    /// Set for a build object (`TaskRun`, `BuildRun`, `Build`): `pod` is its name.
    pub object: Option<&'static str>,
}

impl Build {
    /// `namespace/pod`; for a registry reference, the registry host.
    pub fn pod_ref(&self) -> String {
        match (&self.registry, self.object) {
            (Some(r), _) => registry::host_of(&r.name).to_string(),
            (None, Some(kind)) => format!("{kind} {}/{}", self.namespace, self.pod),
            (None, None) => format!("{}/{}", self.namespace, self.pod),
        }
    }

    /// True when this is the reference a registry answered, not an in-cluster build.
    pub fn is_registry(&self) -> bool {
        self.registry.is_some()
    }

    /// True when one destination is this image (same registry, path and tag).
    pub fn pushes_name(&self, name: &str) -> bool {
        self.destination_names.iter().any(|d| d == name)
    }

    /// True when one destination is in this image's repository.
    pub fn pushes_repository(&self, repository: &str) -> bool {
        self.destination_repos.iter().any(|d| d == repository)
    }
}

/// True when a pod runs a build container: its changes may decide any deployment, and its logs
/// may be worth reading.
pub fn is_build_pod(pod: &PodInfo) -> bool {
    pod.may_be_build()
}

/// The pushed digest a build container's termination message holds, for a container that
/// exited 0: the bare digest (`--digest-file`/`--digestfile` to `/dev/termination-log`), Tekton
/// results (a JSON array of `{key, value}`: `IMAGE_DIGEST`, any `<prefix>IMAGE_DIGEST` whose
/// `<prefix>IMAGE_URL` is a destination (or absent), `IMAGES` as `img@sha256:…` separated by
/// commas or newlines), or BuildKit's `--metadata-file` JSON (`containerimage.digest`).
/// `dest_repos` are the build's destination repositories (normalised): a result naming another
/// image is not this build's. Anything else (garbage, a wrong type, another image): None.
pub fn termination_digest(message: &str, dest_repos: &[String]) -> Option<(Digest, DigestSource)> {
    let m = message.trim();
    if let Some(d) = Digest::parse(m) {
        return Some((d, DigestSource::TerminationMessage));
    }
    if !m.starts_with(['[', '{']) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(m).ok()?;
    let ours = |image: &str| {
        ImageRef::parse(image.trim()).is_ok_and(|r| dest_repos.contains(&r.repository()))
    };
    if let Some(results) = v.as_array() {
        let value = |key: &str| {
            results
                .iter()
                .find_map(|r| (r.get("key")?.as_str()? == key).then(|| r.get("value")?.as_str())?)
        };
        for r in results {
            let (Some(key), Some(val)) = (
                r.get("key").and_then(|k| k.as_str()),
                r.get("value").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            if let Some(prefix) = key.strip_suffix("IMAGE_DIGEST")
                && let Some(d) = Digest::parse(val.trim())
                && value(&format!("{prefix}IMAGE_URL")).is_none_or(ours)
            {
                return Some((d, DigestSource::TektonResult));
            }
            if key == "IMAGES" {
                let found = val
                    .split([',', '\n'])
                    .filter_map(|i| i.trim().split_once('@'))
                    .filter(|(image, _)| ours(image))
                    .find_map(|(_, d)| Digest::parse(d.trim()));
                if let Some(d) = found {
                    return Some((d, DigestSource::TektonResult));
                }
            }
        }
        return None;
    }
    let d = Digest::parse(v.get("containerimage.digest")?.as_str()?.trim())?;
    let named = v.get("image.name").and_then(|n| n.as_str());
    if named.is_some_and(|n| !n.split(',').any(ours)) {
        return None;
    }
    Some((d, DigestSource::BuildkitMetadata))
}

/// Finds every build in the view: build containers of pods, and Jobs whose build pods are gone.
pub fn collect_builds(view: &ClusterView) -> Vec<Build> {
    let mut out = Vec::new();
    let mut pod_jobs = std::collections::HashSet::new();
    for pod in view.pods() {
        for c in pod.init_containers.iter().chain(pod.containers.iter()) {
            // A known builder by image and argv, else a Tekton step by its image results.
            let found = BUILDERS
                .iter()
                .find_map(|b| Some((*b, b.destinations(&c.image, &c.argv)?)))
                .or_else(|| {
                    let results = tekton::result_images(pod.termination_message(&c.name)?);
                    (!results.is_empty()).then_some((&tekton::Tekton as &dyn Builder, results))
                });
            let Some((b, dests)) = found else { continue };
            if let Some(build) = pod_build(view, pod, c, b, &dests) {
                for o in &pod.meta.owners {
                    if o.kind == "Job" {
                        pod_jobs.insert((pod.meta.namespace.clone(), o.name.to_string()));
                    }
                }
                out.push(build);
            }
        }
    }
    out.extend(registry_builds(view));
    out.extend(object_builds(view));
    for job in view.jobs() {
        if pod_jobs.contains(&(job.meta.namespace.clone(), job.meta.name.clone())) {
            continue;
        }
        for c in &job.containers {
            for b in BUILDERS {
                if let Some(dests) = b.destinations(&c.image, &c.argv) {
                    if let Some(build) = job_build(job, c, *b, &dests) {
                        out.push(build);
                    }
                    break;
                }
            }
        }
    }
    out
}

/// The references registries answered: one succeeded "build" per resolved tag, finished when
/// the tag moved (DESIGN §7). Judged only for containers no in-cluster build pushes.
fn registry_builds(view: &ClusterView) -> Vec<Build> {
    if view.tags().next().is_none() {
        return Vec::new();
    }
    // When the pods running each tag's image started, by the digest they run.
    let mut started: HashMap<String, Vec<(Digest, Option<Timestamp>)>> = HashMap::new();
    for p in view.pods() {
        for c in &p.containers {
            let Some(name) = ImageRef::parse(&c.image)
                .ok()
                .and_then(|i| registry::lookup_name(&i))
            else {
                continue;
            };
            if let Some(d) = p
                .status(&c.name)
                .and_then(|s| s.image_id().repo_digest().cloned())
            {
                started.entry(name).or_default().push((d, p.start_time));
            }
        }
    }
    view.tags()
        .filter_map(|(name, state)| {
            let entry = state.entry()?;
            let TagAnswer::Resolved {
                digest,
                answered_at,
                created,
                ..
            } = &entry.answer
            else {
                return None;
            };
            let image = ImageRef::parse(name).ok()?;
            // The image's created time says when the tag moved only when it is later than the
            // start of the pods that run another digest: an older image put under the tag (a
            // rollback, a re-tag, a reproducible build dated 1970) moved when first seen.
            let older_pods = started
                .get(name)
                .into_iter()
                .flatten()
                .filter(|(d, _)| d != digest)
                .filter_map(|(_, t)| *t)
                .max();
            let mut moved_at = entry.moved_at()?;
            let mut from_created = created.is_some_and(|c| c == moved_at);
            if from_created
                && older_pods.is_some_and(|p| moved_at <= p)
                && let Some(first) = entry.first_seen
            {
                moved_at = first;
                from_created = false;
            }
            Some(Build {
                builder: BuilderKind::Registry,
                namespace: String::new(),
                pod: String::new(),
                pod_uid: String::new(),
                container: String::new(),
                destination_names: vec![image.name()],
                destination_repos: vec![image.repository()],
                destinations: vec![image],
                status: BuildStatus::Succeeded,
                digest: Some(digest.clone()),
                digest_source: Some(DigestSource::Registry),
                started_at: Some(moved_at),
                finished_at: Some(moved_at),
                fatal_lines: Vec::new(),
                no_push: false,
                object: None,
                registry: Some(RegistryOrigin {
                    name: name.to_string(),
                    answered_at: *answered_at,
                    moved_at,
                    from_created,
                    failing: entry.failing.clone(),
                }),
            })
        })
        .collect()
}

/// The builds TaskRuns, BuildRuns and OpenShift Builds report: one per image each names, with
/// the digest it reported once it succeeded.
fn object_builds(view: &ClusterView) -> impl Iterator<Item = Build> + '_ {
    view.build_objects().flat_map(|o| {
        let s = &o.status;
        let field = match o.kind.as_str() {
            "TaskRun" => "result IMAGE_DIGEST",
            "BuildRun" => "status.output.digest",
            _ => "status.output.to.imageDigest",
        };
        s.images.iter().filter_map(move |(image, digest)| {
            let dest = ImageRef::parse(image).ok()?;
            let digest = digest
                .clone()
                .filter(|_| s.status == BuildStatus::Succeeded);
            Some(Build {
                builder: s.builder,
                namespace: o.meta.namespace.clone(),
                pod: o.meta.name.clone(),
                pod_uid: String::new(),
                container: String::new(),
                destination_names: vec![dest.name()],
                destination_repos: vec![dest.repository()],
                destinations: vec![dest],
                status: s.status,
                digest_source: digest.as_ref().map(|_| DigestSource::Object(field)),
                digest,
                started_at: s.started_at.or(o.meta.created),
                finished_at: s.finished_at,
                fatal_lines: if s.message.is_empty() {
                    Vec::new()
                } else {
                    vec![s.message.clone()]
                },
                no_push: false,
                registry: None,
                object: Some(o.kind.as_str()),
            })
        })
    })
}

/// The tags to ask registries about (`registry/path:tag`): images of Deployments' containers
/// that no in-cluster build pushes (by exact name), that are not pinned by digest, and whose
/// last answer is missing or older than `ttl`. Each name once.
pub fn tags_wanted(
    view: &ClusterView,
    builds: &[Build],
    now: Timestamp,
    ttl: SignedDuration,
) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for d in view.deployments() {
        for c in &d.containers {
            let Ok(image) = ImageRef::parse(&c.image) else {
                continue;
            };
            let Some(name) = registry::lookup_name(&image) else {
                continue;
            };
            // An in-cluster build is the reference, unless it finished without a digest
            // anyone can read (buildah without --digestfile, kaniko 0.11–1.7, a log that cannot
            // be read): then the registry is asked too.
            let newest = builds
                .iter()
                .filter(|b| !b.is_registry() && !b.no_push && b.pushes_name(&name))
                .max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.pod.cmp(&b.pod)));
            if out.contains(&name) || newest.is_some_and(|b| !without_digest_for_good(view, b)) {
                continue;
            }
            if registry::due(view.tag_state(&name), now, ttl) {
                out.insert(name);
            }
        }
    }
    out.into_iter().collect()
}

/// The manifests to read for multi-arch matching (DESIGN §7): for each pod container whose
/// image an in-cluster build pushed with digest D while the pod runs another digest R, the
/// manifests of D and R in the build's repository (`registry/path`), unless known, being read,
/// or failed within `ttl`. Each digest once.
pub fn manifests_wanted(
    view: &ClusterView,
    builds: &[Build],
    now: Timestamp,
    ttl: SignedDuration,
) -> Vec<(String, Digest)> {
    let mut out: std::collections::BTreeMap<Digest, String> = Default::default();
    for p in view.pods() {
        for c in &p.containers {
            let Some(running) = p
                .status(&c.name)
                .and_then(|s| s.image_id().repo_digest().cloned())
            else {
                continue;
            };
            let Ok(image) = ImageRef::parse(&c.image) else {
                continue;
            };
            let name = image.name();
            // The reference as the verdict picks it: an in-cluster build, else the registry's.
            let exact = |registry: bool| {
                builds
                    .iter()
                    .filter(move |b| b.is_registry() == registry)
                    .filter(|b| !b.no_push && b.pushes_name(&name) && b.digest.is_some())
                    .max_by(|a, b| a.started_at.cmp(&b.started_at))
            };
            let built = exact(false).or_else(|| exact(true));
            let Some(d) = built.and_then(|b| b.digest.clone()) else {
                continue;
            };
            if d == running {
                continue;
            }
            for digest in [d, running] {
                if !out.contains_key(&digest) && view.manifest_due(&digest, now, ttl) {
                    out.insert(digest, image.repository());
                }
            }
        }
    }
    out.into_iter().map(|(d, r)| (r, d)).collect()
}

/// True when a build finished and its digest will not come: it succeeded without one, and its
/// log (when it has one to read) has been read or cannot be.
pub fn without_digest_for_good(view: &ClusterView, b: &Build) -> bool {
    b.status == BuildStatus::Succeeded
        && b.digest.is_none()
        && (b.pod_uid.is_empty()
            || matches!(
                view.log_state(&b.namespace, &b.pod, &b.container),
                Some(LogState::Read(_) | LogState::Unavailable(_))
            ))
}

/// The `imagePullSecrets` of the pods that run `name` (`registry/path:tag`), as
/// (namespace, secret) pairs, at most 8: the credentials `--registry-auth=pull-secrets` tries.
pub fn pull_secrets_for(view: &ClusterView, name: &str) -> Vec<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for p in view.pods().filter(|p| !p.pull_secrets.is_empty()) {
        let runs = p.all_containers().any(|c| {
            ImageRef::parse(&c.image)
                .is_ok_and(|i| registry::lookup_name(&i).as_deref() == Some(name))
        });
        if runs {
            for s in &p.pull_secrets {
                out.insert((p.meta.namespace.clone(), s.clone()));
            }
        }
        if out.len() >= 8 {
            break;
        }
    }
    out.into_iter().take(8).collect()
}

/// The registry tags some Deployment runs (`registry/path:tag`): the answers worth keeping.
pub fn tags_in_use(view: &ClusterView) -> std::collections::HashSet<String> {
    view.deployments()
        .flat_map(|d| d.containers.iter())
        .filter_map(|c| ImageRef::parse(&c.image).ok())
        .filter_map(|i| registry::lookup_name(&i))
        .collect()
}

/// A build log worth fetching: the container's log may hold the pushed digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRequest<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    /// Fetch once per pod UID: a new pod of the same name is a new build.
    pub pod_uid: &'a str,
    pub container: &'a str,
}

/// The build logs to read: finished builds whose digest is not known from their termination
/// message or a result, and whose log was never asked for (not pending, read or unavailable).
pub fn logs_wanted<'a>(
    view: &'a ClusterView,
    builds: &'a [Build],
) -> impl Iterator<Item = LogRequest<'a>> + 'a {
    builds
        .iter()
        .filter(move |b| {
            b.status != BuildStatus::Running
                && b.digest.is_none()
                && !b.pod_uid.is_empty()
                && view.log_state(&b.namespace, &b.pod, &b.container).is_none()
        })
        .map(|b| LogRequest {
            namespace: &b.namespace,
            pod: &b.pod,
            pod_uid: &b.pod_uid,
            container: &b.container,
        })
}

fn parse_destinations(dests: &[String]) -> Vec<ImageRef> {
    dests
        .iter()
        .filter_map(|d| ImageRef::parse(d).ok())
        .collect()
}

/// Why a build container that exited non-zero failed, when its log said nothing: the last
/// lines of its termination message, or its exit code and reason.
fn termination_failure(
    container: &str,
    exit_code: i32,
    message: &str,
    reason: &str,
) -> Vec<String> {
    let m = message.trim();
    if !m.is_empty() && Digest::parse(m).is_none() {
        let mut lines: Vec<String> = m.lines().rev().take(3).map(str::to_string).collect();
        lines.reverse();
        lines
    } else {
        vec![format!(
            "container {container} exited with code {exit_code} ({reason})"
        )]
    }
}

/// The last logged push to a destination's repository (never a cache push), and whether every
/// destination was pushed.
fn logged_pushes<'f>(
    facts: Option<&'f LogFacts>,
    dest_repos: &[String],
) -> (Option<&'f PushedDigest>, bool) {
    let last = facts.and_then(|f| {
        f.pushed
            .iter()
            .rev()
            .find(|p| normalize_repository(&p.repository).is_some_and(|r| dest_repos.contains(&r)))
    });
    let all = facts.is_some_and(|f| {
        dest_repos.iter().all(|r| {
            f.pushed
                .iter()
                .any(|p| normalize_repository(&p.repository).as_deref() == Some(r))
        })
    }) && !dest_repos.is_empty();
    (last, all)
}

fn pod_build(
    view: &ClusterView,
    pod: &PodInfo,
    c: &ContainerSpec,
    builder: &dyn Builder,
    dests: &[String],
) -> Option<Build> {
    let destinations = parse_destinations(dests);
    let ns = &pod.meta.namespace;
    let facts = view.log_facts(ns, &pod.meta.name, &c.name);
    // Disabled by args, by env, or as its log says ("Skipping push … due to --no-push").
    let no_push =
        c.no_push_env || builder.no_push(&c.argv) || facts.is_some_and(|f| f.skipped_push);
    if destinations.is_empty() && !no_push {
        return None;
    }
    let status = pod.status(&c.name);
    let state = status.map(|s| &s.state).cloned().unwrap_or_default();
    let container_started = match &state {
        ContainerState::Running { started_at } => *started_at,
        ContainerState::Terminated(t) => t.started_at,
        _ => None,
    };
    let started_at = container_started.or(pod.start_time).or(pod.meta.created);

    // Digest from the log: the Pushed line whose repository is a destination's (never a cache push).
    let dest_repos: Vec<String> = destinations.iter().map(|d| d.repository()).collect();
    let dest_names: Vec<String> = destinations.iter().map(|d| d.name()).collect();
    let (log_push, pushed_all) = logged_pushes(facts, &dest_repos);
    let log_time = |p: &PushedDigest| match p.at {
        Some(LogTime::At(t)) => Some(t),
        Some(LogTime::SinceStart(s)) => {
            container_started.and_then(|st| st.checked_add(SignedDuration::from_secs(s)).ok())
        }
        None => None,
    };

    let mut fatal_lines: Vec<String> = facts.map(|f| f.fatal.clone()).unwrap_or_default();
    let (status, finished_at, term_digest) = match &state {
        ContainerState::Terminated(t) => {
            let Terminated {
                exit_code,
                message,
                finished_at,
                reason,
                ..
            } = &**t;
            if *exit_code == 0 {
                let d = termination_digest(message, &dest_repos);
                (BuildStatus::Succeeded, *finished_at, d)
            } else {
                if fatal_lines.is_empty() {
                    fatal_lines = termination_failure(&c.name, *exit_code, message, reason);
                }
                (BuildStatus::Failed, *finished_at, None)
            }
        }
        _ if pod.phase == PodPhase::Failed => {
            if fatal_lines.is_empty() {
                fatal_lines.push(
                    format!("pod failed: {} {}", pod.reason, pod.message)
                        .trim()
                        .to_string(),
                );
            }
            (BuildStatus::Failed, None, None)
        }
        _ if pushed_all && !no_push && builder.done_after_last_push() => {
            (BuildStatus::Succeeded, log_push.and_then(log_time), None)
        }
        _ => (BuildStatus::Running, None, None),
    };

    let (digest, digest_source) = match (term_digest, log_push) {
        (Some((d, src)), _) => (Some(d), Some(src)),
        (None, Some(p)) if status == BuildStatus::Succeeded => (
            Some(p.digest.clone()),
            Some(DigestSource::LogLine(p.line.clone())),
        ),
        _ => (None, None),
    };
    let finished_at = finished_at.or_else(|| log_push.and_then(log_time));
    Some(Build {
        destination_names: dest_names,
        destination_repos: dest_repos,
        builder: builder.kind(),
        namespace: ns.clone(),
        pod: pod.meta.name.clone(),
        pod_uid: pod.meta.uid.clone(),
        container: c.name.to_string(),
        destinations,
        status,
        digest: if no_push { None } else { digest },
        digest_source: if no_push { None } else { digest_source },
        started_at,
        finished_at,
        fatal_lines,
        no_push,
        registry: None,
        object: None,
    })
}

fn job_build(
    job: &JobInfo,
    c: &ContainerSpec,
    builder: &dyn Builder,
    dests: &[String],
) -> Option<Build> {
    let destinations = parse_destinations(dests);
    if destinations.is_empty() {
        return None;
    }
    let complete = job
        .conditions
        .iter()
        .find(|c| c.type_ == "Complete" && c.is_true());
    let failed = job
        .conditions
        .iter()
        .find(|c| c.type_ == "Failed" && c.is_true());
    let (status, finished_at, fatal_lines) = match (complete, failed) {
        (Some(c), _) => (
            BuildStatus::Succeeded,
            job.completion_time.or(c.last_transition),
            vec![],
        ),
        (None, Some(f)) => (
            BuildStatus::Failed,
            f.last_transition,
            vec![format!("Job {}: {} {}", job.meta.name, f.reason, f.message)],
        ),
        _ => (BuildStatus::Running, None, vec![]),
    };
    Some(Build {
        destination_names: destinations.iter().map(|d| d.name()).collect(),
        destination_repos: destinations.iter().map(|d| d.repository()).collect(),
        builder: builder.kind(),
        namespace: job.meta.namespace.clone(),
        pod: job.meta.name.clone(),
        pod_uid: String::new(),
        container: c.name.to_string(),
        destinations,
        status,
        digest: None,
        digest_source: None,
        started_at: job.start_time.or(job.meta.created),
        finished_at,
        fatal_lines,
        no_push: c.no_push_env || builder.no_push(&c.argv),
        registry: None,
        object: None,
    })
}

#[cfg(test)]
mod tests {
    use super::kaniko::{Kaniko, is_kaniko_image};
    use super::*;

    const HEX: &str = "4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
    const CACHE_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000abc";

    fn spec(image: &str, argv: &[&str]) -> ContainerSpec {
        ContainerSpec {
            name: "kaniko".into(),
            image: image.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            no_push_env: false,
        }
    }

    #[test]
    fn recognises_kaniko_images_of_upstream_and_forks() {
        for i in [
            "gcr.io/kaniko-project/executor:v1.24.0",
            "gcr.io/kaniko-project/executor:debug",
            "gcr.io/kaniko-project/executor:v1.5.1@sha256:c6166717f7fe0b7da44908c986137ecfeab21f31ec3992f6e128fff8a94be8a5",
            "ghcr.io/osscontainertools/kaniko:latest",
            "martizih/kaniko:v1.25.0",
            "cgr.dev/chainguard/kaniko:latest",
            "registry.internal/mirror/kaniko/executor:v1.23.2",
        ] {
            assert!(is_kaniko_image(i), "{i}");
        }
        assert!(!is_kaniko_image("registry.example.com/shop/checkout:1.8.0"));
    }

    #[test]
    fn destinations_in_every_argument_form() {
        let c = spec(
            "gcr.io/kaniko-project/executor:v1.23.2",
            &[
                "--context=git://example/repo",
                "--destination=registry.example.com/shop/api:1.0",
                "--destination",
                "registry.example.com/shop/api:latest",
                "-d",
                "mirror.example.com/shop/api:1.0",
            ],
        );
        assert_eq!(
            Kaniko.destinations(&c.image, &c.argv).unwrap(),
            vec![
                "registry.example.com/shop/api:1.0",
                "registry.example.com/shop/api:latest",
                "mirror.example.com/shop/api:1.0"
            ]
        );
        // Tekton wraps the executor behind its entrypoint; args still carry the flags.
        let c = spec(
            "gcr.io/kaniko-project/executor:v1.5.1",
            &[
                "/tekton/bin/entrypoint",
                "-entrypoint",
                "/kaniko/executor",
                "--",
                "--dockerfile=./Dockerfile",
                "--destination=registry.example.com/x:1",
            ],
        );
        assert_eq!(
            Kaniko.destinations(&c.image, &c.argv).unwrap(),
            vec!["registry.example.com/x:1"]
        );
        assert!(
            Kaniko
                .destinations(
                    "nginx:1.27",
                    &["nginx".into(), "-g".into(), "daemon off;".into()]
                )
                .is_none()
        );
    }

    #[test]
    fn pushed_digest_from_every_log_format() {
        let color =
            format!("\x1b[36mINFO\x1b[0m[0041] Pushed registry.example.com/team/app@sha256:{HEX} ");
        let color_ts = format!(
            "\x1b[36mINFO\x1b[0m[2025-06-01T10:00:41Z] Pushed registry.example.com/team/app@sha256:{HEX} "
        );
        let rendered = format!("INFO[0041] Pushed registry.example.com/team/app@sha256:{HEX}");
        let text = format!(
            "time=\"2025-06-01T10:00:41Z\" level=info msg=\"Pushed registry.example.com/team/app@sha256:{HEX}\""
        );
        let json = format!(
            "{{\"level\":\"info\",\"msg\":\"Pushed registry.example.com/team/app@sha256:{HEX}\",\"time\":\"2025-06-01T10:00:41Z\"}}"
        );
        let at: Timestamp = "2025-06-01T10:00:41Z".parse().unwrap();
        for (line, time) in [
            (color, LogTime::SinceStart(41)),
            (color_ts, LogTime::At(at)),
            (rendered, LogTime::SinceStart(41)),
            (text, LogTime::At(at)),
            (json, LogTime::At(at)),
        ] {
            let f = LogScanner::scan(&line);
            assert_eq!(f.pushed.len(), 1, "{line:?}");
            assert_eq!(f.pushed[0].repository, "registry.example.com/team/app");
            assert_eq!(f.pushed[0].digest.as_str(), format!("sha256:{HEX}"));
            assert_eq!(f.pushed[0].at, Some(time), "{line:?}");
        }
    }

    #[test]
    fn fatal_lines_in_every_format_and_unformatted_stderr() {
        let log = "\x1b[36mINFO\x1b[0m[0003] Unpacking rootfs as cmd RUN npm ci requires it. \n\
                   error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1\n\
                   time=\"2025-06-01T10:00:41Z\" level=error msg=\"oops text\"\n\
                   {\"level\":\"fatal\",\"msg\":\"oops json\",\"time\":\"2025-06-01T10:00:41Z\"}\n\
                   \x1b[33mWARN\x1b[0m[0269] error uploading layer to cache: failed to push to destination index.docker.io/a/b/cache:x: unsupported status code 401; \n";
        let f = LogScanner::scan(log);
        assert_eq!(
            f.fatal,
            vec![
                "error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1",
                "oops text",
                "oops json"
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_not_kept() {
        let long = "x".repeat(MAX_LINE_BYTES * 3);
        let mut s = LogScanner::new();
        s.line(&long);
        s.line(&format!("INFO[0001] Pushed r.example.com/a@sha256:{HEX}"));
        let f = s.finish();
        assert_eq!(f.cut_lines, 1);
        assert_eq!(f.pushed.len(), 1);
        assert_eq!(f.lines, 2);
    }

    #[test]
    fn cache_pushes_are_recorded_but_tell_apart_by_repository() {
        let log = format!(
            "INFO[0010] Pushing layer registry.example.com/team/app/cache:abc to cache now \n\
             INFO[0011] Pushed registry.example.com/team/app/cache@sha256:{CACHE_HEX} \n\
             INFO[0041] Pushed registry.example.com/team/app@sha256:{HEX} \n"
        );
        let f = LogScanner::scan(&log);
        assert_eq!(f.pushed.len(), 2);
        assert_eq!(
            normalize_repository(&f.pushed[0].repository).unwrap(),
            "registry.example.com/team/app/cache"
        );
    }

    #[test]
    fn termination_messages_of_every_builder() {
        let repos = vec!["registry.example.com/shop/web".to_string()];
        let d = format!("sha256:{HEX}");
        let got = |m: &str| termination_digest(m, &repos);
        // --digest-file / --digestfile to /dev/termination-log.
        assert_eq!(
            got(&format!("{d}\n")).unwrap().1,
            DigestSource::TerminationMessage
        );
        // Tekton step results (pkg/result/result.go shape): IMAGE_DIGEST with IMAGE_URL, a
        // prefixed pair, IMAGES; entrypoint keys beside them.
        let tekton = format!(
            r#"[{{"key":"StartedAt","value":"2026-11-30T10:00:00.000Z","type":3}},{{"key":"IMAGE_DIGEST","value":"{d}","type":1}},{{"key":"IMAGE_URL","value":"registry.example.com/shop/web:1.0","type":1}}]"#
        );
        assert_eq!(
            got(&tekton).unwrap(),
            (Digest::parse(&d).unwrap(), DigestSource::TektonResult)
        );
        let prefixed = format!(
            r#"[{{"key":"OTHER_IMAGE_URL","value":"r.io/other:1","type":1}},{{"key":"OTHER_IMAGE_DIGEST","value":"sha256:{CACHE_HEX}","type":1}},{{"key":"WEB_IMAGE_URL","value":"registry.example.com/shop/web:1.0"}},{{"key":"WEB_IMAGE_DIGEST","value":"{d}"}}]"#
        );
        assert_eq!(got(&prefixed).unwrap().0.as_str(), d);
        let images = format!(
            r#"[{{"key":"IMAGES","value":"r.io/other:1@sha256:{CACHE_HEX},\nregistry.example.com/shop/web:1.0@{d}"}}]"#
        );
        assert_eq!(got(&images).unwrap().0.as_str(), d);
        // BuildKit --metadata-file (exporter/containerimage/exptypes keys).
        let metadata = format!(
            r#"{{"containerimage.config.digest":"sha256:{CACHE_HEX}","containerimage.descriptor":{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{d}","size":856}},"containerimage.digest":"{d}","image.name":"registry.example.com/shop/web:1.0,registry.example.com/shop/web:latest"}}"#
        );
        assert_eq!(
            got(&metadata).unwrap(),
            (Digest::parse(&d).unwrap(), DigestSource::BuildkitMetadata)
        );
        // Another image's results, wrong types, garbage, an unparsable digest: nothing.
        for bad in [
            format!(
                r#"[{{"key":"IMAGE_DIGEST","value":"{d}"}},{{"key":"IMAGE_URL","value":"r.io/other:1"}}]"#
            ),
            format!(r#"[{{"key":"IMAGE_DIGEST","value":{{"d":"{d}"}}}}]"#),
            r#"[{"key":"IMAGE_DIGEST","value":"sha256:abc"}]"#.to_string(),
            r#"[1, "two", null, {"key": 3}]"#.to_string(),
            format!(r#"{{"containerimage.digest":"{d}","image.name":"r.io/other:1"}}"#),
            r#"{"containerimage.digest": 7}"#.to_string(),
            "error: exit status 1".to_string(),
            "[{\"key\":".to_string(),
        ] {
            assert_eq!(got(&bad), None, "{bad}");
        }
    }

    #[test]
    fn push_lines_of_buildkit_and_the_openshift_builder() {
        let plain = format!(
            "#14 pushing manifest for registry.example.com/shop/web:1.0@sha256:{HEX} 0.2s done"
        );
        let tty = format!(
            "=> => pushing manifest for registry.example.com/shop/web:1.0@sha256:{HEX}                 2.2s"
        );
        let openshift = format!(
            "I1130 10:00:41.123456       1 daemonless.go:123] Successfully pushed registry.example.com/shop/web@sha256:{HEX}"
        );
        for line in [plain, tty, openshift] {
            let f = LogScanner::scan(&line);
            assert_eq!(f.pushed.len(), 1, "{line}");
            assert_eq!(f.pushed[0].repository, "registry.example.com/shop/web");
            assert_eq!(f.pushed[0].digest.as_str(), format!("sha256:{HEX}"));
        }
        // Progress lines without a pushed reference are not pushes.
        for line in [
            format!("#14 exporting manifest list sha256:{HEX} done"),
            "#15 pushing layers 1.2s done".to_string(),
            "#15 pushing manifest for registry.example.com/shop/web:1.0".to_string(),
        ] {
            assert!(LogScanner::scan(&line).pushed.is_empty(), "{line}");
        }
    }

    /// A real `buildah push --digestfile` run (buildah 1.28.2 to docker-registry 2.8 on
    /// loopback): its log names layer and config blobs but no pushed digest; its digest file,
    /// as a termination message, is the digest.
    #[test]
    fn a_real_buildah_push_logs_no_digest_and_its_digest_file_is_one() {
        let log = include_str!("../../../tests/fixtures/builders/buildah-1.28.2-push.log");
        let digest = include_str!("../../../tests/fixtures/builders/buildah-1.28.2-push.digest");
        assert!(log.contains("Writing manifest to image destination"));
        assert!(LogScanner::scan(log).pushed.is_empty());
        let (d, src) = termination_digest(digest, &[]).unwrap();
        assert_eq!(
            (d.as_str(), src),
            (digest, DigestSource::TerminationMessage)
        );
    }
}
