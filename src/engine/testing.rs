#![cfg(test)]
//! Test-only builders for the engine's projected types (`PodInfo`, `DeploymentInfo`,
//! `ReplicaSetInfo`, `EventInfo`, `NodeInfo`, and `Build`), and `Cluster`, which assembles them
//! into a synced `ClusterView` and judges its Deployment. Every builder starts from a plausible
//! object of the `shop/checkout` world at a fixed `now()`, so that a test states only what
//! matters to it:
//!
//! ```text
//! cluster(deployment("shop", "checkout").rolling(0, 0))
//!     .pod(pod("shop", "checkout-1").waiting("ImagePullBackOff"))
//!     .event(event("shop", "Pod", "checkout-1", "Failed", "Failed to pull image …").first(ago(300)))
//!     .verdict()
//! ```

use jiff::{SignedDuration, Timestamp};

use super::builds::{Build, BuildStatus, BuilderKind, DigestSource, collect_builds};
use super::events::Owner;
use super::image::{Digest, ImageRef};
use super::k8s::{EventReason, PodPhase};
use super::registry::TagAnswer;
use super::verdict::{Cause, DeploymentVerdict, Policy, Verdict, judge};
use super::view::{
    Change, ClusterView, Condition, ContainerSpec, ContainerState, ContainerStatus, DeploymentInfo,
    EventInfo, Kind, Meta, NodeInfo, Object, OwnerRef, PodInfo, ReplicaCounts, ReplicaSetInfo,
    Taint, Terminated, Waiting,
};

/// The one container of every test Deployment and pod.
pub const CONTAINER: &str = "app";

/// The `now` every test judges at.
pub fn now() -> Timestamp {
    "2026-11-20T10:15:00Z".parse().unwrap()
}

/// `now()` less this many seconds.
pub fn ago(secs: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs)
}

/// A digest of one repeated hex digit: `digest('a')` is `sha256:aaaa…`.
pub fn digest(hex: char) -> Digest {
    Digest::from_hex(&hex.to_string().repeat(64)).unwrap()
}

/// The `imageID` a runtime reports for a pull of `repository@digest`.
pub fn repo_digest(repository: &str, d: &Digest) -> String {
    format!("{repository}@{d}")
}

/// The image of the `ns/name` Deployment's container, and its repository.
pub fn image_of(ns: &str, name: &str) -> (String, String) {
    let repo = format!("registry.example.com/{ns}/{name}");
    (format!("{repo}:1.8.0"), repo)
}

/// Verdict, cause and owner: what every test asserts together.
pub fn outcome(v: &DeploymentVerdict) -> (Verdict, Cause, Owner) {
    (v.verdict, v.cause, v.owner)
}

fn meta(ns: &str, name: &str, created: Timestamp) -> Meta {
    Meta {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("{name}-uid"),
        created: Some(created),
        deleting: false,
        owners: Box::default(),
    }
}

fn cond(type_: &str, status: &str, reason: &str, message: &str, at: Timestamp) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition: Some(at),
        last_update: Some(at),
    }
}

fn counts(n: i32) -> ReplicaCounts {
    ReplicaCounts {
        replicas: n,
        updated: n,
        ready: n,
        available: n,
    }
}

/// A Deployment, by default rolled out: 1 replica, generation observed, revision 1, created an
/// hour ago, one container `app` running `registry.example.com/<ns>/<name>:1.8.0`.
pub struct DeploymentBuilder(DeploymentInfo);

pub fn deployment(ns: &str, name: &str) -> DeploymentBuilder {
    DeploymentBuilder(DeploymentInfo {
        meta: meta(ns, name, ago(3600)),
        generation: 1,
        observed_generation: 1,
        spec_replicas: 1,
        paused: false,
        revision: Some(1),
        containers: vec![ContainerSpec {
            name: CONTAINER.into(),
            image: image_of(ns, name).0.into(),
            argv: Vec::new(),
            no_push_env: false,
        }],
        status: counts(1),
        conditions: Vec::new(),
    })
}

impl DeploymentBuilder {
    /// The container's image, as written in the spec.
    pub fn image(mut self, image: &str) -> Self {
        self.0.containers[0].image = image.into();
        self
    }

    /// `spec.replicas`, every one of them updated and available.
    pub fn replicas(mut self, n: i32) -> Self {
        self.0.spec_replicas = n;
        self.0.status = counts(n);
        self
    }

    /// A rollout under way: this many replicas updated, this many available.
    pub fn rolling(mut self, updated: i32, available: i32) -> Self {
        self.0.status.updated = updated;
        self.0.status.ready = available;
        self.0.status.available = available;
        self
    }

    pub fn created(mut self, at: Timestamp) -> Self {
        self.0.meta.created = Some(at);
        self
    }

    /// `metadata.generation` and `status.observedGeneration`.
    pub fn generations(mut self, generation: i64, observed: i64) -> Self {
        self.0.generation = generation;
        self.0.observed_generation = observed;
        self
    }

    /// `Progressing=False` with reason `ProgressDeadlineExceeded` since `at`.
    pub fn deadline_exceeded(mut self, at: Timestamp) -> Self {
        let name = &self.0.meta.name;
        self.0.conditions.push(cond(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{name}-7d4b9\" has timed out progressing."),
            at,
        ));
        self
    }
}

impl From<DeploymentBuilder> for DeploymentInfo {
    fn from(b: DeploymentBuilder) -> Self {
        b.0
    }
}

/// The new ReplicaSet of a Deployment: `<name>-7d4b9`, owned by it, at its revision, with all
/// its replicas created.
pub struct ReplicaSetBuilder(ReplicaSetInfo);

pub fn replica_set(d: &DeploymentInfo) -> ReplicaSetBuilder {
    let mut meta = meta(
        &d.meta.namespace,
        &format!("{}-7d4b9", d.meta.name),
        d.meta.created.unwrap_or_else(now),
    );
    meta.owners = Box::new([OwnerRef {
        kind: "Deployment".into(),
        name: d.meta.name.as_str().into(),
        uid: d.meta.uid.as_str().into(),
    }]);
    ReplicaSetBuilder(ReplicaSetInfo {
        meta,
        revision: d.revision,
        pod_template_hash: Some("7d4b9".into()),
        spec_replicas: d.spec_replicas,
        status: counts(d.spec_replicas),
        conditions: Vec::new(),
    })
}

impl ReplicaSetBuilder {
    /// Only this many of its pods exist.
    pub fn created_pods(mut self, n: i32) -> Self {
        self.0.status = counts(n);
        self
    }
}

/// A pod, by default pending and not yet scheduled, with no container status. The container
/// methods set the status of the container `app` (created on first use).
pub struct PodBuilder(PodInfo);

pub fn pod(ns: &str, name: &str) -> PodBuilder {
    PodBuilder(PodInfo {
        meta: meta(ns, name, ago(600)),
        pod_template_hash: None,
        node_name: None,
        phase: PodPhase::Pending,
        reason: "".into(),
        message: "".into(),
        start_time: None,
        conditions: Box::default(),
        init_containers: Box::default(),
        containers: Box::default(),
        init_statuses: Box::default(),
        statuses: Box::default(),
        pull_secrets: Box::default(),
        placement: None,
    })
}

impl PodBuilder {
    fn status(&mut self) -> &mut ContainerStatus {
        if self.0.statuses.is_empty() {
            self.0.statuses = Box::new([ContainerStatus {
                name: CONTAINER.into(),
                image_id_raw: Default::default(),
                ready: false,
                restart_count: 0,
                state: ContainerState::None,
                last_state: ContainerState::None,
            }]);
        }
        &mut self.0.statuses[0]
    }

    fn set_condition(&mut self, c: Condition) {
        let mut all = std::mem::take(&mut self.0.conditions).into_vec();
        all.retain(|x| x.type_ != c.type_);
        all.push(c);
        self.0.conditions = all.into();
    }

    /// Bound to `node-1` (and started there ten minutes ago, unless `started` said otherwise).
    fn scheduled(&mut self) {
        self.0.node_name = Some("node-1".into());
        self.0.start_time = self.0.start_time.or(Some(ago(600)));
        self.set_condition(cond("PodScheduled", "True", "", "", ago(600)));
    }

    /// The kubelet started the pod at `at`.
    /// `nodeSelector: {key: value}`.
    pub fn node_selector(mut self, key: &str, value: &str) -> Self {
        self.0
            .placement
            .get_or_insert_with(Default::default)
            .node_selector
            .push((key.into(), value.into()));
        self
    }

    pub fn started(mut self, at: Timestamp) -> Self {
        self.0.start_time = Some(at);
        self
    }

    /// The scheduler could not place it: `PodScheduled=False` since `at` with this message.
    pub fn unschedulable(mut self, message: &str, at: Timestamp) -> Self {
        self.0.node_name = None;
        self.set_condition(cond("PodScheduled", "False", "Unschedulable", message, at));
        self
    }

    /// The container waits with this reason (`ImagePullBackOff`, `CrashLoopBackOff`, ...).
    pub fn waiting(mut self, reason: &str) -> Self {
        self.scheduled();
        self.status().state = ContainerState::Waiting(Box::new(Waiting {
            reason: reason.into(),
            message: String::new(),
        }));
        self
    }

    /// The container runs but is not ready.
    pub fn running(mut self) -> Self {
        self.scheduled();
        self.0.phase = PodPhase::Running;
        self.status().state = ContainerState::Running {
            started_at: Some(ago(300)),
        };
        self
    }

    /// The container runs and the pod has been ready since `at`.
    pub fn ready_since(mut self, at: Timestamp) -> Self {
        self = self.running();
        self.status().ready = true;
        self.set_condition(cond("Ready", "True", "", "", at));
        self
    }

    /// The container runs and the pod has been ready for five minutes.
    pub fn ready(self) -> Self {
        self.ready_since(ago(300))
    }

    /// The container's `imageID`.
    pub fn image_id(mut self, id: &str) -> Self {
        self.status().image_id_raw = id.into();
        self
    }

    /// The container restarted `n` times, the last time ending with `reason` and `exit_code` at
    /// `finished`.
    pub fn restarted(mut self, n: i32, reason: &str, exit_code: i32, finished: Timestamp) -> Self {
        let s = self.status();
        s.restart_count = n;
        s.last_state = ContainerState::Terminated(Box::new(Terminated {
            exit_code,
            reason: reason.into(),
            message: String::new(),
            started_at: None,
            finished_at: Some(finished),
        }));
        self
    }
}

/// An event about `kind` `ns/name`, by default a kubelet Warning seen once a minute ago.
pub struct EventBuilder(EventInfo);

pub fn event(ns: &str, kind: &str, name: &str, reason: &str, message: &str) -> EventBuilder {
    EventBuilder(EventInfo {
        namespace: ns.into(),
        name: format!("{name}.{reason}").into(),
        involved_kind: kind.into(),
        involved_name: name.into(),
        reason: reason.into(),
        kind: EventReason::parse(reason),
        message: message.into(),
        type_: "Warning".into(),
        source: "kubelet".into(),
        count: 1,
        first: Some(ago(60)),
        last: Some(ago(60)),
    })
}

impl EventBuilder {
    /// First seen at `at` (and last seen then too, unless `last` says otherwise).
    pub fn first(mut self, at: Timestamp) -> Self {
        self.0.first = Some(at);
        self.0.last = self.0.last.max(Some(at));
        self
    }

    pub fn last(mut self, at: Timestamp) -> Self {
        self.0.last = Some(at);
        self
    }

    pub fn source(mut self, component: &str) -> Self {
        self.0.source = component.into();
        self
    }
}

/// A ready, schedulable node without taints.
pub struct NodeBuilder(NodeInfo);

pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder(NodeInfo {
        name: name.into(),
        labels: Default::default(),
        unschedulable: false,
        ready: Some(true),
        taints: Vec::new(),
        newest_time: Some(ago(10)),
    })
}

impl NodeBuilder {
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.insert(key.into(), value.into());
        self
    }

    pub fn not_ready(mut self) -> Self {
        self.0.ready = Some(false);
        self
    }

    pub fn cordoned(mut self) -> Self {
        self.0.unschedulable = true;
        self
    }

    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.0.taints.push(Taint {
            key: key.into(),
            value: value.into(),
            effect: effect.into(),
        });
        self
    }
}

/// A kaniko build in pod `ns/pod` pushing `destination`, by default still running, started
/// twenty minutes ago.
pub struct BuildBuilder(Build);

pub fn build(ns: &str, pod: &str, destination: &str) -> BuildBuilder {
    let d = ImageRef::parse(destination).unwrap();
    BuildBuilder(Build {
        builder: BuilderKind::Kaniko,
        namespace: ns.into(),
        pod: pod.into(),
        pod_uid: format!("{pod}-uid"),
        container: "kaniko".into(),
        destination_names: vec![d.name()],
        destination_repos: vec![d.repository()],
        destinations: vec![d],
        status: BuildStatus::Running,
        digest: None,
        digest_source: None,
        started_at: Some(ago(1200)),
        finished_at: None,
        fatal_lines: Vec::new(),
        no_push: false,
        registry: None,
        object: None,
    })
}

impl BuildBuilder {
    pub fn started(mut self, at: Timestamp) -> Self {
        self.0.started_at = Some(at);
        self
    }

    /// Pushed `digest` at `at`, written to the termination message.
    pub fn succeeded(mut self, digest: Digest, at: Timestamp) -> Self {
        self.0.status = BuildStatus::Succeeded;
        self.0.digest = Some(digest);
        self.0.digest_source = Some(DigestSource::TerminationMessage);
        self.0.finished_at = Some(at);
        self
    }

    /// Pushed at `at`, but told no digest.
    pub fn succeeded_without_digest(mut self, at: Timestamp) -> Self {
        self.0.status = BuildStatus::Succeeded;
        self.0.finished_at = Some(at);
        self
    }

    /// Failed at `at`, logging `line`.
    pub fn failed(mut self, line: &str, at: Timestamp) -> Self {
        self.0.status = BuildStatus::Failed;
        self.0.fatal_lines = vec![line.into()];
        self.0.finished_at = Some(at);
        self
    }
}

/// `shop/checkout` rolled out on `n` ready pods (`checkout-1`, ...) that run digest `running`.
pub fn rolled_out(n: i32, running: char) -> Cluster {
    let (_, repo) = image_of("shop", "checkout");
    let mut c = cluster(deployment("shop", "checkout").replicas(n));
    for i in 1..=n {
        c = c.pod(
            pod("shop", &format!("checkout-{i}"))
                .ready()
                .image_id(&repo_digest(&repo, &digest(running))),
        );
    }
    c
}

/// The kaniko build `shop/kaniko-1` of `shop/checkout`'s image, still running.
pub fn kaniko() -> BuildBuilder {
    build("shop", "kaniko-1", &image_of("shop", "checkout").0)
}

/// One Deployment with its new ReplicaSet, the pods, events, nodes and builds around it.
pub struct Cluster {
    deployment: DeploymentInfo,
    replica_set: ReplicaSetInfo,
    objects: Vec<Object>,
    builds: Vec<Build>,
    unsynced: Vec<Kind>,
    /// Applied after the objects (log states, relists).
    changes: Vec<Change>,
}

/// A cluster around `d` and its new ReplicaSet.
pub fn cluster(d: DeploymentBuilder) -> Cluster {
    let deployment: DeploymentInfo = d.into();
    Cluster {
        replica_set: replica_set(&deployment).0,
        deployment,
        objects: Vec::new(),
        builds: Vec::new(),
        unsynced: Vec::new(),
        changes: Vec::new(),
    }
}

impl Cluster {
    /// Changes the new ReplicaSet.
    pub fn replica_set(mut self, f: impl FnOnce(ReplicaSetBuilder) -> ReplicaSetBuilder) -> Self {
        self.replica_set = f(ReplicaSetBuilder(self.replica_set)).0;
        self
    }

    /// A pod of the new ReplicaSet.
    pub fn pod(mut self, p: PodBuilder) -> Self {
        let mut p = p.0;
        // A pod of the ReplicaSet runs the template's containers.
        if p.containers.is_empty() {
            p.containers = self.deployment.containers.clone().into();
        }
        p.pod_template_hash = self
            .replica_set
            .pod_template_hash
            .as_deref()
            .map(Into::into);
        p.meta.owners = Box::new([OwnerRef {
            kind: "ReplicaSet".into(),
            name: self.replica_set.meta.name.as_str().into(),
            uid: self.replica_set.meta.uid.as_str().into(),
        }]);
        self.objects.push(Object::Pod(p));
        self
    }

    /// An event; its name is made unique within the cluster.
    pub fn event(mut self, e: EventBuilder) -> Self {
        let mut e = e.0;
        e.name = format!("{}.{}", e.name, self.objects.len()).into();
        self.objects.push(Object::Event(e));
        self
    }

    pub fn node(mut self, n: NodeBuilder) -> Self {
        self.objects.push(Object::Node(n.0));
        self
    }

    /// A build the cluster's build pods reported.
    pub fn image_build(mut self, b: BuildBuilder) -> Self {
        self.builds.push(b.0);
        self
    }

    /// This kind has not been listed yet.
    pub fn unsynced(mut self, kind: Kind) -> Self {
        self.unsynced.push(kind);
        self
    }

    /// The view every source would fill with these objects, synced but for `unsynced` kinds.
    pub fn view(&self) -> ClusterView {
        let mut view = ClusterView::new();
        view.apply(Change::Apply(Object::Deployment(self.deployment.clone())));
        view.apply(Change::Apply(Object::ReplicaSet(self.replica_set.clone())));
        for o in &self.objects {
            view.apply(Change::Apply(o.clone()));
        }
        for k in Kind::ALL.into_iter().filter(|k| !self.unsynced.contains(k)) {
            view.apply(Change::Synced(k));
        }
        for c in &self.changes {
            view.apply(c.clone());
        }
        view
    }

    /// A change applied after the objects.
    pub fn change(mut self, c: Change) -> Self {
        self.changes.push(c);
        self
    }

    /// What the registry answered for `name` (`registry/path:tag`): `digest`, answered now,
    /// the image created at `created`.
    pub fn registry(self, name: &str, digest: Digest, created: Option<Timestamp>) -> Self {
        self.change(Change::RegistryAnswer {
            name: name.into(),
            answer: TagAnswer::Resolved {
                digest,
                answered_at: now(),
                created,
                manifest: None,
            },
        })
    }

    /// The Deployment's verdict under `policy` at `now()`: against the given builds and the
    /// references the registry answered.
    pub fn judge(&self, policy: &Policy) -> DeploymentVerdict {
        let view = self.view();
        let mut builds = self.builds.clone();
        builds.extend(collect_builds(&view).into_iter().filter(Build::is_registry));
        judge(&view, &builds, &self.deployment, policy, now())
    }

    /// The Deployment's verdict under the default policy at `now()`.
    pub fn verdict(&self) -> DeploymentVerdict {
        self.judge(&Policy::default())
    }
}
