//! The cluster view: trimmed projections of the Kubernetes objects the engine reads, filled by
//! `Change`s that every source (dump, live watch, test fake) emits alike, and read by the verdicts.
//! Only the fields the engine uses are kept: no managedFields, no annotations but the revision,
//! no container args unless the container may be a build.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

use super::builds::detect;
use super::builds::log::LogFacts;
use super::builds::objects::{self, BuildObjectStatus};
use super::builds::tekton;
use super::image::{Digest, ImageId, ImageRef};
use super::k8s::{EventReason, PodPhase};
use super::registry::{Failing, ManifestKind, TagAnswer, TagEntry, TagState};
use super::text::bounded;
use super::wire::{
    self, ConditionWire, ContainerWire, EventV1Wire, EventWire, MetaWire, PodWire, SeriesWire,
    StateWire, StatusWire,
};

/// `(namespace, name)`.
pub type Key = (String, String);

/// A shared immutable string. The view interns the values that repeat across thousands of
/// events (namespaces, kinds, reasons, types, sources) and pods (owners, images, image IDs), so
/// each is stored once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IStr(std::sync::Arc<str>);

impl IStr {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl IStr {
    /// True when another holder than the one asking shares this string.
    pub fn is_shared(&self) -> bool {
        std::sync::Arc::strong_count(&self.0) > 1
    }
}

impl Default for IStr {
    /// The empty string, shared (no allocation).
    fn default() -> Self {
        static EMPTY: std::sync::LazyLock<IStr> = std::sync::LazyLock::new(|| IStr::from(""));
        EMPTY.clone()
    }
}

impl std::ops::Deref for IStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for IStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for IStr {
    fn from(s: &str) -> Self {
        IStr(std::sync::Arc::from(s))
    }
}

impl From<String> for IStr {
    fn from(s: String) -> Self {
        IStr(std::sync::Arc::from(s))
    }
}

impl From<std::borrow::Cow<'_, str>> for IStr {
    fn from(s: std::borrow::Cow<'_, str>) -> Self {
        IStr(std::sync::Arc::from(&*s))
    }
}

impl PartialEq<str> for IStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<String> for IStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<&str> for IStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl std::fmt::Display for IStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds a source fills; each must report `Synced` before verdicts are trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Node,
    Pod,
    Deployment,
    ReplicaSet,
    Event,
    Job,
    /// Tekton `TaskRun` (`tekton.dev`), when the CRD exists.
    TaskRun,
    /// Shipwright `BuildRun` (`shipwright.io`), when the CRD exists.
    BuildRun,
    /// OpenShift `Build` (`build.openshift.io`), on OpenShift.
    OpenShiftBuild,
}

impl Kind {
    /// Every kind, in the order a source lists them.
    pub const ALL: [Kind; 6] = [
        Kind::Node,
        Kind::Pod,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::Event,
        Kind::Job,
    ];

    /// The build objects of CRD-backed builders: watched only when their API exists (a missing
    /// CRD is normal), and needed for the sync only when watched.
    pub const OPTIONAL: [Kind; 3] = [Kind::TaskRun, Kind::BuildRun, Kind::OpenShiftBuild];

    /// The kind named by a Kubernetes `kind` field, when the engine reads it.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind of an object by its `kind` and `apiVersion` (the build objects share names
    /// with other APIs: Shipwright's `Build` is a definition, OpenShift's a run).
    pub fn from_type(kind: &str, api_version: &str) -> Option<Kind> {
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        match (kind, group) {
            ("TaskRun", "tekton.dev") => Some(Kind::TaskRun),
            ("BuildRun", "shipwright.io") => Some(Kind::BuildRun),
            ("Build", "build.openshift.io") => Some(Kind::OpenShiftBuild),
            _ => Kind::from_name(kind),
        }
    }

    /// True for the CRD-backed build objects.
    pub fn is_optional(self) -> bool {
        Kind::OPTIONAL.contains(&self)
    }

    /// The `resource` label value of kube-verdict's self-metrics: the kind in lower case
    /// (`pod`, `replicaset`, …).
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::Pod => "pod",
            Kind::Deployment => "deployment",
            Kind::ReplicaSet => "replicaset",
            Kind::Event => "event",
            Kind::Job => "job",
            Kind::TaskRun => "taskrun",
            Kind::BuildRun => "buildrun",
            Kind::OpenShiftBuild => "build",
        }
    }

    /// The Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Event => "Event",
            Kind::Job => "Job",
            Kind::TaskRun => "TaskRun",
            Kind::BuildRun => "BuildRun",
            Kind::OpenShiftBuild => "Build",
        }
    }
}

/// What a change invalidates: the verdicts the controller must recompute after applying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// No verdict can change (a relist began).
    Nothing,
    /// Only the verdicts of Deployments in this namespace can change.
    Namespace(String),
    /// A build pod or its log changed: the builds of these repositories (normalised, e.g.
    /// `registry.example.com/shop/checkout`) must be collected again, and the Deployments of
    /// the namespace and those running an image of one of them judged again.
    Builds {
        namespace: String,
        repositories: BTreeSet<String>,
    },
    /// A registry answered for a tag of these repositories: collect builds again and judge the
    /// Deployments running an image of one of them.
    Repositories(BTreeSet<String>),
    /// Any verdict can change: a Node or Job changed (a Job may be a build whose pods are
    /// gone), a build pod whose destinations cannot be read, a sync or RBAC state, a relist.
    All,
}

/// One change to the view. Live watchers, dumps and tests all speak this language.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a change is moved once into the view; boxing would cost an allocation per object"
)]
pub enum Change {
    /// The object was added or modified: replace what the view holds under its key.
    Apply(Object),
    /// The object is gone.
    Delete(Kind, Key),
    /// A (re)list of this kind begins, in one namespace or (None) everywhere: objects not
    /// applied again before the matching `RelistDone` are gone (deleted while the watch was down).
    Relist(Kind, Option<String>),
    /// The (re)list is complete: forget what it did not list.
    RelistDone(Kind, Option<String>),
    /// Every object of this kind has been listed once: verdicts may now rely on it.
    Synced(Kind),
    /// The source watches this optional kind (a build object whose API exists): the sync waits
    /// for its first list too.
    Expect(Kind),
    /// The API server refused to list this kind (RBAC 403): verdicts are `unknown/forbidden`
    /// until it is listed.
    Forbidden(Kind),
    /// Facts read from one container's log (a build's `Pushed` line, its fatal errors).
    /// Ignored when the pod is no longer in the view.
    PodLog {
        namespace: String,
        pod: String,
        container: String,
        facts: LogFacts,
    },
    /// A container's log is being fetched: until it is read, its build's digest is pending.
    PodLogPending {
        namespace: String,
        pod: String,
        container: String,
    },
    /// A container's log cannot be read (403, gone, or transient errors past the retries):
    /// its build's digest stays unavailable. `reason` is for evidence.
    PodLogUnavailable {
        namespace: String,
        pod: String,
        container: String,
        reason: String,
    },
    /// The registry is being asked what this tag (`registry/path:tag`) points to.
    RegistryPending { name: String },
    /// What the registry answered for this tag (`registry/path:tag`).
    RegistryAnswer { name: String, answer: TagAnswer },
    /// What a digest is in its registry (an image, or an index and what it lists), read once.
    RegistryManifest {
        digest: Digest,
        manifest: ManifestKind,
    },
    /// A digest's manifest is being read (multi-arch matching of an in-cluster build).
    RegistryManifestPending { digest: Digest },
    /// A digest's manifest could not be read; not asked again before `at` plus the TTL.
    RegistryManifestUnavailable { digest: Digest, at: Timestamp },
}

/// What the view knows of one container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogState {
    /// Being fetched.
    Pending,
    /// Read: what it says.
    Read(LogFacts),
    /// Cannot be read, and why.
    Unavailable(String),
}

/// A projected object.
#[derive(Debug, Clone)]
pub enum Object {
    Node(NodeInfo),
    Pod(PodInfo),
    Deployment(DeploymentInfo),
    ReplicaSet(ReplicaSetInfo),
    Event(EventInfo),
    Job(JobInfo),
    /// A TaskRun, BuildRun or OpenShift Build.
    BuildObject(BuildObjectInfo),
}

/// A build object of a CRD-backed builder (TaskRun, BuildRun, OpenShift Build), projected.
#[derive(Debug, Clone)]
pub struct BuildObjectInfo {
    pub kind: Kind,
    pub meta: Meta,
    pub status: BuildObjectStatus,
}

impl BuildObjectInfo {
    /// Projects a build object of `kind` from its JSON. Errors name what is missing.
    pub fn from_value(
        kind: Kind,
        v: &serde_json::Value,
    ) -> Result<BuildObjectInfo, ProjectionError> {
        let m: ObjectMeta = v
            .get("metadata")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| ProjectionError {
                kind: kind.as_str(),
                name: String::new(),
                problem: format!("malformed metadata: {e}"),
            })?
            .unwrap_or_default();
        let meta = Meta::from_k8s(&m, kind.as_str(), true)?;
        let status = match kind {
            Kind::TaskRun => objects::task_run(v),
            Kind::BuildRun => objects::build_run(v),
            _ => objects::openshift_build(v),
        };
        Ok(BuildObjectInfo { kind, meta, status })
    }
}

impl Object {
    /// Reads an object of `kind` from any serde deserializer (the text of a dump's item or of
    /// a list item or watch event of the live source) and projects it: Pods and Events through
    /// the trimmed decode of [`super::wire`], the other kinds through their k8s-openapi type.
    /// `events_v1` reads an events.k8s.io/v1 Event. When the object does not even deserialize,
    /// the error's `name` is empty (the caller knows better how to name it).
    pub fn from_json<'de, D: serde::Deserializer<'de>>(
        kind: Kind,
        events_v1: bool,
        de: D,
    ) -> Result<Object, ProjectionError> {
        Object::decode(kind, events_v1, de).map(|(o, _)| o)
    }

    /// [`Object::from_json`], also returning the object's `metadata.resourceVersion` (empty when
    /// it has none): the live source needs it to resume its watch, the view does not keep it.
    pub fn decode<'de, D: serde::Deserializer<'de>>(
        kind: Kind,
        events_v1: bool,
        de: D,
    ) -> Result<(Object, String), ProjectionError> {
        use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch};
        use serde::Deserialize;
        let malformed = |e: D::Error| ProjectionError {
            kind: kind.as_str(),
            name: String::new(),
            problem: format!("malformed: {e}"),
        };
        fn typed<'de, T, P, D>(
            de: D,
            malformed: impl FnOnce(D::Error) -> ProjectionError,
            wrap: impl FnOnce(P) -> Object,
        ) -> Result<(Object, String), ProjectionError>
        where
            D: serde::Deserializer<'de>,
            T: Deserialize<'de> + k8s_openapi::Metadata<Ty = ObjectMeta>,
            P: for<'a> TryFrom<&'a T, Error = ProjectionError>,
        {
            let mut t = T::deserialize(de).map_err(malformed)?;
            let projected = P::try_from(&t)?;
            let rv = t.metadata_mut().resource_version.take().unwrap_or_default();
            Ok((wrap(projected), rv))
        }
        match kind {
            Kind::Node => typed::<core::Node, _, _>(de, malformed, Object::Node),
            Kind::Pod => {
                let wire = PodWire::deserialize(de).map_err(malformed)?;
                PodInfo::from_wire(wire).map(|(p, rv)| (Object::Pod(p), rv))
            }
            Kind::Deployment => typed::<apps::Deployment, _, _>(de, malformed, Object::Deployment),
            Kind::ReplicaSet => typed::<apps::ReplicaSet, _, _>(de, malformed, Object::ReplicaSet),
            Kind::Job => typed::<batch::Job, _, _>(de, malformed, Object::Job),
            Kind::Event if events_v1 => {
                let wire = EventV1Wire::deserialize(de).map_err(malformed)?;
                EventInfo::from_v1_wire(wire).map(|(e, rv)| (Object::Event(e), rv))
            }
            Kind::Event => {
                let wire = EventWire::deserialize(de).map_err(malformed)?;
                EventInfo::from_wire(wire).map(|(e, rv)| (Object::Event(e), rv))
            }
            Kind::TaskRun | Kind::BuildRun | Kind::OpenShiftBuild => {
                let v = serde_json::Value::deserialize(de).map_err(malformed)?;
                let rv = v
                    .pointer("/metadata/resourceVersion")
                    .and_then(|r| r.as_str())
                    .unwrap_or_default()
                    .to_string();
                Ok((
                    Object::BuildObject(BuildObjectInfo::from_value(kind, &v)?),
                    rv,
                ))
            }
        }
    }

    /// The kind and namespace of the object (nodes have an empty namespace), without the
    /// allocation of [`Object::kind_key`].
    pub fn kind_namespace(&self) -> (Kind, &str) {
        match self {
            Object::Node(_) => (Kind::Node, ""),
            Object::Pod(p) => (Kind::Pod, &p.meta.namespace),
            Object::Deployment(d) => (Kind::Deployment, &d.meta.namespace),
            Object::ReplicaSet(r) => (Kind::ReplicaSet, &r.meta.namespace),
            Object::Job(j) => (Kind::Job, &j.meta.namespace),
            Object::Event(e) => (Kind::Event, &e.namespace),
            Object::BuildObject(b) => (b.kind, &b.meta.namespace),
        }
    }

    /// The kind and `(namespace, name)` key of the object (nodes have an empty namespace).
    pub fn kind_key(&self) -> (Kind, Key) {
        match self {
            Object::Node(n) => (Kind::Node, (String::new(), n.name.clone())),
            Object::Pod(p) => (Kind::Pod, p.meta.key()),
            Object::Deployment(d) => (Kind::Deployment, d.meta.key()),
            Object::ReplicaSet(r) => (Kind::ReplicaSet, r.meta.key()),
            Object::Job(j) => (Kind::Job, j.meta.key()),
            Object::Event(e) => (Kind::Event, (e.namespace.to_string(), e.name.to_string())),
            Object::BuildObject(b) => (b.kind, b.meta.key()),
        }
    }
}

/// Why a Kubernetes object could not be projected (it lacks a field the engine needs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name}: {problem}")]
pub struct ProjectionError {
    pub kind: &'static str,
    /// `namespace/name` as far as known.
    pub name: String,
    pub problem: String,
}

/// The owner reference fields the engine follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// Interned by the view: the pods of a ReplicaSet share its name and uid.
    pub kind: IStr,
    pub name: IStr,
    pub uid: IStr,
}

/// Metadata common to every projection.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub created: Option<Timestamp>,
    pub deleting: bool,
    /// A boxed slice: exact, and 8 bytes smaller than a `Vec` in every object.
    pub owners: Box<[OwnerRef]>,
}

/// An error unless the object has a name and, when `namespaced`, a namespace.
fn named(
    kind: &'static str,
    namespace: &str,
    name: &str,
    namespaced: bool,
) -> Result<(), ProjectionError> {
    if name.is_empty() || (namespaced && namespace.is_empty()) {
        return Err(ProjectionError {
            kind,
            name: format!("{namespace}/{name}"),
            problem: "metadata.name or metadata.namespace is missing".into(),
        });
    }
    Ok(())
}

impl Meta {
    fn from_k8s(
        m: &ObjectMeta,
        kind: &'static str,
        namespaced: bool,
    ) -> Result<Meta, ProjectionError> {
        let name = m.name.clone().unwrap_or_default();
        let namespace = m.namespace.clone().unwrap_or_default();
        named(kind, &namespace, &name, namespaced)?;
        Ok(Meta {
            namespace,
            name,
            uid: m.uid.clone().unwrap_or_default(),
            created: ts(&m.creation_timestamp),
            deleting: m.deletion_timestamp.is_some(),
            owners: items(m.owner_references.as_ref())
                .map(|o| OwnerRef {
                    kind: o.kind.as_str().into(),
                    name: o.name.as_str().into(),
                    uid: o.uid.as_str().into(),
                })
                .collect(),
        })
    }

    /// The metadata of a decoded object ([`wire`]), as [`Meta::from_k8s`] reads a typed one.
    fn from_wire(
        m: &MetaWire<'_>,
        kind: &'static str,
        namespaced: bool,
    ) -> Result<Meta, ProjectionError> {
        let t = wire::text;
        named(kind, t(&m.namespace), t(&m.name), namespaced)?;
        Ok(Meta {
            namespace: t(&m.namespace).into(),
            name: t(&m.name).into(),
            uid: t(&m.uid).into(),
            created: ts(&m.creation_timestamp),
            deleting: m.deletion_timestamp.is_some(),
            owners: wire::list(&m.owner_references)
                .iter()
                .map(|o| OwnerRef {
                    kind: t(&o.kind).into(),
                    name: t(&o.name).into(),
                    uid: t(&o.uid).into(),
                })
                .collect(),
        })
    }

    pub fn key(&self) -> Key {
        (self.namespace.clone(), self.name.clone())
    }

    /// `namespace/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

fn ts(t: &Option<Time>) -> Option<Timestamp> {
    t.as_ref().map(|t| t.0)
}

fn mts(t: &Option<MicroTime>) -> Option<Timestamp> {
    t.as_ref().map(|t| t.0)
}

/// A node taint (NoSchedule / NoExecute / PreferNoSchedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// A node: its taints (to name the taints behind 1.35's `untolerated taint(s)`) and readiness.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    /// The node's labels (pods select nodes by them).
    pub labels: BTreeMap<String, String>,
    pub unschedulable: bool,
    pub ready: Option<bool>,
    pub taints: Vec<Taint>,
    /// Newest heartbeat or transition time among the node's conditions.
    pub newest_time: Option<Timestamp>,
}

impl TryFrom<&core::Node> for NodeInfo {
    type Error = ProjectionError;
    fn try_from(n: &core::Node) -> Result<Self, ProjectionError> {
        let meta = Meta::from_k8s(&n.metadata, "Node", false)?;
        let spec = n.spec.as_ref();
        let conditions = n.status.as_ref().and_then(|s| s.conditions.as_ref());
        let ready = conditions
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status == "True");
        let newest_time = conditions
            .into_iter()
            .flatten()
            .flat_map(|c| [ts(&c.last_heartbeat_time), ts(&c.last_transition_time)])
            .flatten()
            .max();
        Ok(NodeInfo {
            name: meta.name,
            labels: n.metadata.labels.clone().unwrap_or_default(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            ready,
            taints: items(spec.and_then(|s| s.taints.as_ref()))
                .map(|t| Taint {
                    key: t.key.clone(),
                    value: t.value.clone().unwrap_or_default(),
                    effect: t.effect.clone(),
                })
                .collect(),
            newest_time,
        })
    }
}

/// A container of a pod spec (or a pod template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Interned by the view, as the image (replicas share them).
    pub name: IStr,
    pub image: IStr,
    /// Command followed by args; kept only when the container may be a build (builds.rs).
    pub argv: Vec<String>,
    /// `KANIKO_NO_PUSH=true` (or any env that disables the push) was set.
    pub no_push_env: bool,
}

impl ContainerSpec {
    /// A container with this name, image and command-and-args; `env` gives its `env` items'
    /// names and values (read only when the container may be a build).
    fn new<'e>(
        name: &str,
        image: &str,
        argv: Vec<String>,
        env: impl IntoIterator<Item = (&'e str, &'e str)>,
    ) -> ContainerSpec {
        let image: IStr = image.into();
        let keep = detect::may_be_build(&image, &argv);
        ContainerSpec {
            name: name.into(),
            no_push_env: keep
                && env
                    .into_iter()
                    .any(|(name, value)| detect::env_disables_push(name, value)),
            image,
            argv: if keep { argv } else { Vec::new() },
        }
    }
}

/// The containers of a typed pod template (Deployments, ReplicaSets, Jobs).
fn container_specs(cs: &[core::Container]) -> Vec<ContainerSpec> {
    cs.iter()
        .map(|c| {
            ContainerSpec::new(
                &c.name,
                c.image.as_deref().unwrap_or_default(),
                items(c.command.as_ref())
                    .chain(items(c.args.as_ref()))
                    .cloned()
                    .collect(),
                c.env
                    .iter()
                    .flatten()
                    .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default())),
            )
        })
        .collect()
}

/// The containers of a decoded pod.
fn container_specs_wire(cs: &[ContainerWire<'_>]) -> Box<[ContainerSpec]> {
    let t = wire::text;
    cs.iter()
        .map(|c| {
            ContainerSpec::new(
                t(&c.name),
                t(&c.image),
                wire::list(&c.command)
                    .iter()
                    .chain(wire::list(&c.args))
                    .map(|a| a.0.to_string())
                    .collect(),
                wire::list(&c.env).iter().map(|e| (t(&e.name), t(&e.value))),
            )
        })
        .collect()
}

/// A container state, as the kubelet reports it. The waiting and terminated details are boxed:
/// most containers run, and a pod keeps two states per container (`state`, `lastState`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ContainerState {
    Waiting(Box<Waiting>),
    Running {
        started_at: Option<Timestamp>,
    },
    Terminated(Box<Terminated>),
    /// No state reported yet.
    #[default]
    None,
}

/// `state.waiting`: why the container is not running yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Waiting {
    pub reason: String,
    pub message: String,
}

/// `state.terminated`: how the container's last run ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Terminated {
    pub exit_code: i32,
    pub reason: String,
    /// The termination message (`/dev/termination-log`, or the log's tail).
    pub message: String,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl ContainerState {
    /// The state the kubelet reports: terminated, else running, else waiting (it sets one).
    fn from_wire(s: Option<&StateWire<'_>>) -> ContainerState {
        let t = wire::text;
        let Some(s) = s else {
            return ContainerState::None;
        };
        if let Some(x) = &s.terminated {
            return ContainerState::Terminated(Box::new(Terminated {
                exit_code: x.exit_code.unwrap_or_default(),
                reason: bounded(t(&x.reason)).into(),
                message: bounded(t(&x.message)).into(),
                started_at: ts(&x.started_at),
                finished_at: ts(&x.finished_at),
            }));
        }
        if let Some(r) = &s.running {
            return ContainerState::Running {
                started_at: ts(&r.started_at),
            };
        }
        if let Some(w) = &s.waiting {
            return ContainerState::Waiting(Box::new(Waiting {
                reason: bounded(t(&w.reason)).into(),
                message: bounded(t(&w.message)).into(),
            }));
        }
        ContainerState::None
    }

    /// The termination details, when the container terminated.
    pub fn terminated(&self) -> Option<&Terminated> {
        match self {
            ContainerState::Terminated(t) => Some(t),
            _ => None,
        }
    }

    fn times(&self) -> [Option<Timestamp>; 2] {
        match self {
            ContainerState::Running { started_at } => [*started_at, None],
            ContainerState::Terminated(t) => [t.started_at, t.finished_at],
            _ => [None, None],
        }
    }
}

/// A container status.
#[derive(Debug, Clone)]
pub struct ContainerStatus {
    /// Interned by the view (replicas share it).
    pub name: IStr,
    /// `imageID` exactly as reported (parsed on use with `image_id()`: keeping both would
    /// double the largest string of every pod), interned by the view (replicas share it).
    pub image_id_raw: IStr,
    pub ready: bool,
    pub restart_count: i32,
    pub state: ContainerState,
    pub last_state: ContainerState,
}

impl ContainerStatus {
    /// The parsed `imageID`.
    pub fn image_id(&self) -> ImageId {
        ImageId::parse(&self.image_id_raw)
    }
}

fn container_statuses(cs: &[StatusWire<'_>]) -> Box<[ContainerStatus]> {
    let t = wire::text;
    cs.iter()
        .map(|c| ContainerStatus {
            name: t(&c.name).into(),
            image_id_raw: t(&c.image_id).into(),
            ready: c.ready.unwrap_or_default(),
            restart_count: c.restart_count.unwrap_or_default(),
            state: ContainerState::from_wire(c.state.as_ref()),
            last_state: ContainerState::from_wire(c.last_state.as_ref()),
        })
        .collect()
}

/// A status condition (pods, deployments, replica sets, jobs). Its type, status and reason
/// come from a small vocabulary: the view interns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: IStr,
    pub status: IStr,
    pub reason: IStr,
    pub message: Box<str>,
    pub last_transition: Option<Timestamp>,
    pub last_update: Option<Timestamp>,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// Finds a condition by type.
pub fn condition<'a>(cs: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    cs.iter().find(|c| c.type_ == type_)
}

/// A pod.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub meta: Meta,
    pub pod_template_hash: Option<Box<str>>,
    /// Interned by the view (a node runs many pods).
    pub node_name: Option<IStr>,
    pub phase: PodPhase,
    /// `status.reason` (`Evicted`, `OutOfcpu`, ...); this and the message are boxed strings,
    /// 8 bytes smaller than a `String` each, as almost every pod has neither.
    pub reason: Box<str>,
    pub message: Box<str>,
    pub start_time: Option<Timestamp>,
    pub conditions: Box<[Condition]>,
    pub init_containers: Box<[ContainerSpec]>,
    pub containers: Box<[ContainerSpec]>,
    pub init_statuses: Box<[ContainerStatus]>,
    pub statuses: Box<[ContainerStatus]>,
    /// The names of its `imagePullSecrets` (kube-verdict reads them only with
    /// `--registry-auth=pull-secrets`).
    pub pull_secrets: Box<[String]>,
    /// The nodes the pod may run on (`nodeSelector`, required node affinity); None when it
    /// may run anywhere.
    pub placement: Option<Box<Placement>>,
}

// A pod is boxed in the view (10,000 pods: 10,000 of them): 320 bytes is a jemalloc size class,
// the next is 384. Its lists are boxed slices to stay within it.
const _: () = assert!(std::mem::size_of::<PodInfo>() <= 320);

impl PodInfo {
    /// Init containers, then containers.
    pub fn all_containers(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.init_containers.iter().chain(self.containers.iter())
    }

    /// True when a container may be a build (some builder recognises it): the pods whose logs
    /// are worth reading and whose changes may decide any deployment.
    pub fn may_be_build(&self) -> bool {
        self.all_containers()
            .any(|c| detect::may_be_build(&c.image, &c.argv))
            || self.statuses.iter().chain(&self.init_statuses).any(|s| {
                s.state
                    .terminated()
                    .is_some_and(|t| !tekton::result_images(&t.message).is_empty())
            })
    }

    /// The termination message of a terminated container, by name.
    pub fn termination_message(&self, container: &str) -> Option<&str> {
        Some(&self.status(container)?.state.terminated()?.message)
    }

    /// The status of a container (init containers included) by name.
    pub fn status(&self, container: &str) -> Option<&ContainerStatus> {
        self.statuses
            .iter()
            .chain(self.init_statuses.iter())
            .find(|s| s.name == container)
    }

    /// Ready condition is True.
    pub fn is_ready(&self) -> bool {
        condition(&self.conditions, "Ready").is_some_and(|c| c.is_true())
    }

    fn newest_time(&self) -> Option<Timestamp> {
        let conds = self
            .conditions
            .iter()
            .flat_map(|c| [c.last_transition, c.last_update]);
        let states = self
            .statuses
            .iter()
            .chain(self.init_statuses.iter())
            .flat_map(|s| s.state.times().into_iter().chain(s.last_state.times()));
        conds.chain(states).flatten().max()
    }
}

/// Pod conditions the engine reads; the others (Initialized, ContainersReady, ...) are dropped.
const POD_CONDITIONS: [&str; 2] = ["PodScheduled", "Ready"];

fn conditions_pod(cs: &[ConditionWire<'_>]) -> Box<[Condition]> {
    let t = wire::text;
    let kept: Vec<Condition> = cs
        .iter()
        .filter(|c| POD_CONDITIONS.contains(&t(&c.type_)))
        .map(|c| Condition {
            type_: t(&c.type_).into(),
            status: t(&c.status).into(),
            reason: bounded(t(&c.reason)).into(),
            message: bounded(t(&c.message)).into(),
            last_transition: ts(&c.last_transition_time),
            last_update: ts(&c.last_probe_time),
        })
        .collect();
    // `into_boxed_slice` gives back the room a filtered collect leaves (it allocates for four).
    kept.into_boxed_slice()
}

/// The items of an optional list (`None` is empty) as an exact-size iterator: a `collect` from
/// it allocates room for exactly its items (one that flattens the `Option` has no size hint
/// and leaves room for four: 144 unused bytes per pod for one owner reference).
fn items<T>(list: Option<&Vec<T>>) -> std::slice::Iter<'_, T> {
    list.map(Vec::as_slice).unwrap_or_default().iter()
}

/// The vector with room for exactly its items (after a filtered `collect`, which cannot know
/// its length and leaves room for four).
fn exact<T>(mut v: Vec<T>) -> Vec<T> {
    v.shrink_to_fit();
    v
}

impl PodInfo {
    /// Projects a decoded core/v1 Pod; also returns its `metadata.resourceVersion`.
    fn from_wire(p: PodWire<'_>) -> Result<(PodInfo, String), ProjectionError> {
        let t = wire::text;
        let m = p.metadata.unwrap_or_default();
        let meta = Meta::from_wire(&m, "Pod", true)?;
        let spec = p.spec.ok_or_else(|| ProjectionError {
            kind: "Pod",
            name: meta.full_name(),
            problem: "spec is missing".into(),
        })?;
        let status = p.status.unwrap_or_default();
        let pod = PodInfo {
            pod_template_hash: m
                .labels
                .as_ref()
                .and_then(|l| l.0.as_ref())
                .map(|h| h.0.as_ref().into()),
            node_name: Some(t(&spec.node_name))
                .filter(|n| !n.is_empty())
                .map(IStr::from),
            phase: PodPhase::parse(t(&status.phase)),
            reason: bounded(t(&status.reason)).into(),
            message: bounded(t(&status.message)).into(),
            start_time: ts(&status.start_time),
            conditions: conditions_pod(wire::list(&status.conditions)),
            init_containers: container_specs_wire(wire::list(&spec.init_containers)),
            containers: container_specs_wire(wire::list(&spec.containers)),
            init_statuses: container_statuses(wire::list(&status.init_container_statuses)),
            statuses: container_statuses(wire::list(&status.container_statuses)),
            pull_secrets: wire::list(&spec.image_pull_secrets)
                .iter()
                .map(|r| t(&r.name))
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect(),
            placement: Placement::of(spec.node_selector.as_ref(), spec.affinity.as_ref())
                .map(Box::new),
            meta,
        };
        Ok((pod, t(&m.resource_version).to_string()))
    }
}

impl DeploymentInfo {
    /// True when one of the template's containers runs an image of one of these repositories
    /// (normalised, as [`Affected::Builds`] names them).
    pub fn uses_repository(&self, repositories: &BTreeSet<String>) -> bool {
        self.containers.iter().any(|c| {
            super::image::ImageRef::parse(&c.image)
                .is_ok_and(|r| repositories.contains(&r.repository()))
        })
    }
}

/// What a change to a build pod affects: the repositories its build containers push to (as
/// the builders read their destinations), or everything when none can be read.
fn builds_of(p: &PodInfo) -> Affected {
    let mut repositories = BTreeSet::new();
    for c in p.all_containers() {
        let dests = detect::BUILDERS
            .iter()
            .find_map(|b| b.destinations(&c.image, &c.argv))
            .or_else(|| Some(tekton::result_images(p.termination_message(&c.name)?)))
            .unwrap_or_default();
        repositories.extend(
            dests
                .iter()
                .filter_map(|d| super::image::ImageRef::parse(d).ok())
                .map(|r| r.repository()),
        );
    }
    if repositories.is_empty() {
        return Affected::All;
    }
    Affected::Builds {
        namespace: p.meta.namespace.clone(),
        repositories,
    }
}

/// What a change to a build object affects: the repositories of the images it built.
fn object_builds(b: &BuildObjectInfo) -> Affected {
    let repositories: BTreeSet<String> = b
        .status
        .images
        .iter()
        .filter_map(|(i, _)| ImageRef::parse(i).ok())
        .map(|r| r.repository())
        .collect();
    if repositories.is_empty() {
        return Affected::Nothing;
    }
    Affected::Builds {
        namespace: b.meta.namespace.clone(),
        repositories,
    }
}

/// One `matchExpressions` requirement of a node selector term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRequirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`.
    pub operator: String,
    pub values: Vec<String>,
}

/// Where a pod may run: its `nodeSelector` and the terms of its required node affinity
/// (`requiredDuringSchedulingIgnoredDuringExecution`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub node_selector: Vec<(String, String)>,
    /// ORed terms, each an AND of requirements; None without required node affinity.
    pub required_terms: Option<Vec<Vec<NodeRequirement>>>,
    /// A term selects by `matchFields` (node name), which the labels cannot answer.
    pub by_fields: bool,
}

impl Placement {
    /// The placement of a pod with this `spec.nodeSelector` and `spec.affinity`.
    fn of(
        node_selector: Option<&BTreeMap<String, String>>,
        affinity: Option<&core::Affinity>,
    ) -> Option<Placement> {
        let node_selector: Vec<(String, String)> = exact(
            node_selector
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let required = affinity
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_ref()
            });
        let by_fields = required.is_some_and(|r| {
            r.node_selector_terms
                .iter()
                .any(|t| t.match_fields.as_ref().is_some_and(|f| !f.is_empty()))
        });
        let required_terms = required.map(|r| {
            r.node_selector_terms
                .iter()
                .map(|t| {
                    items(t.match_expressions.as_ref())
                        .map(|e| NodeRequirement {
                            key: e.key.clone(),
                            operator: e.operator.clone(),
                            values: e.values.clone().unwrap_or_default(),
                        })
                        .collect()
                })
                .collect()
        });
        if node_selector.is_empty() && required_terms.is_none() {
            return None;
        }
        Some(Placement {
            node_selector,
            required_terms,
            by_fields,
        })
    }

    /// True when a node with these labels passes the pod's `nodeSelector` and required node
    /// affinity, with the scheduler's semantics (`NodeAffinity` filter): every selector label
    /// equal; any term whose requirements all hold (an empty term selects nothing). None when a
    /// term selects by `matchFields`, which labels cannot answer.
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> Option<bool> {
        if self.by_fields {
            return None;
        }
        let selector = self
            .node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        let affinity = self.required_terms.as_ref().is_none_or(|terms| {
            terms
                .iter()
                .any(|t| !t.is_empty() && t.iter().all(|r| r.holds(labels)))
        });
        Some(selector && affinity)
    }
}

impl NodeRequirement {
    fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let number = |s: &str| s.parse::<i64>().ok();
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !self.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            "Gt" | "Lt" => {
                let (Some(v), Some(bound)) = (
                    value.and_then(|v| number(v)),
                    self.values.first().and_then(|b| number(b)),
                ) else {
                    return false;
                };
                if self.operator == "Gt" {
                    v > bound
                } else {
                    v < bound
                }
            }
            _ => false,
        }
    }
}

/// Replica counts of a Deployment or ReplicaSet status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaCounts {
    pub replicas: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
}

/// A Deployment.
#[derive(Debug, Clone)]
pub struct DeploymentInfo {
    pub meta: Meta,
    pub generation: i64,
    pub observed_generation: i64,
    /// `spec.replicas`, 1 when unset.
    pub spec_replicas: i32,
    pub paused: bool,
    pub revision: Option<i64>,
    pub containers: Vec<ContainerSpec>,
    pub status: ReplicaCounts,
    pub conditions: Vec<Condition>,
}

fn revision(m: &ObjectMeta) -> Option<i64> {
    m.annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")?
        .parse()
        .ok()
}

impl TryFrom<&Deployment> for DeploymentInfo {
    type Error = ProjectionError;
    fn try_from(d: &Deployment) -> Result<Self, ProjectionError> {
        let meta = Meta::from_k8s(&d.metadata, "Deployment", true)?;
        let spec = &d.spec;
        let template = spec.template.spec.as_ref().ok_or_else(|| ProjectionError {
            kind: "Deployment",
            name: meta.full_name(),
            problem: "spec.template.spec is missing".into(),
        })?;
        let status = d.status.as_ref();
        Ok(DeploymentInfo {
            generation: d.metadata.generation.unwrap_or(0),
            observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
            spec_replicas: spec.replicas.unwrap_or(1),
            paused: spec.paused.unwrap_or(false),
            revision: revision(&d.metadata),
            containers: container_specs(&template.containers),
            status: ReplicaCounts {
                replicas: status.and_then(|s| s.replicas).unwrap_or(0),
                updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
                ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
            },
            conditions: items(status.and_then(|s| s.conditions.as_ref()))
                .map(|c| Condition {
                    type_: c.type_.as_deref().unwrap_or_default().into(),
                    status: c.status.as_deref().unwrap_or_default().into(),
                    reason: bounded(c.reason.as_deref().unwrap_or_default()).into(),
                    message: bounded(c.message.as_deref().unwrap_or_default()).into(),
                    last_transition: ts(&c.last_transition_time),
                    last_update: ts(&c.last_update_time),
                })
                .collect(),
            meta,
        })
    }
}

/// A ReplicaSet.
#[derive(Debug, Clone)]
pub struct ReplicaSetInfo {
    pub meta: Meta,
    pub revision: Option<i64>,
    pub pod_template_hash: Option<String>,
    pub spec_replicas: i32,
    pub status: ReplicaCounts,
    pub conditions: Vec<Condition>,
}

impl TryFrom<&ReplicaSet> for ReplicaSetInfo {
    type Error = ProjectionError;
    fn try_from(r: &ReplicaSet) -> Result<Self, ProjectionError> {
        let meta = Meta::from_k8s(&r.metadata, "ReplicaSet", true)?;
        let status = r.status.as_ref();
        Ok(ReplicaSetInfo {
            revision: revision(&r.metadata),
            pod_template_hash: r
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash").cloned()),
            spec_replicas: r.spec.replicas.unwrap_or(1),
            status: ReplicaCounts {
                replicas: status.map(|s| s.replicas).unwrap_or(0),
                updated: 0,
                ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
            },
            conditions: items(status.and_then(|s| s.conditions.as_ref()))
                .map(|c| Condition {
                    type_: c.type_.as_deref().unwrap_or_default().into(),
                    status: c.status.as_deref().unwrap_or_default().into(),
                    reason: bounded(c.reason.as_deref().unwrap_or_default()).into(),
                    message: bounded(c.message.as_deref().unwrap_or_default()).into(),
                    last_transition: ts(&c.last_transition_time),
                    last_update: None,
                })
                .collect(),
            meta,
        })
    }
}

/// A Job: lets a build be judged when its pods were garbage-collected.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub meta: Meta,
    pub containers: Vec<ContainerSpec>,
    pub conditions: Vec<Condition>,
    pub start_time: Option<Timestamp>,
    pub completion_time: Option<Timestamp>,
}

impl TryFrom<&Job> for JobInfo {
    type Error = ProjectionError;
    fn try_from(j: &Job) -> Result<Self, ProjectionError> {
        let meta = Meta::from_k8s(&j.metadata, "Job", true)?;
        let status = j.status.as_ref();
        Ok(JobInfo {
            containers: j
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .map(|s| container_specs(&s.containers))
                .unwrap_or_default(),
            conditions: items(status.and_then(|s| s.conditions.as_ref()))
                .map(|c| Condition {
                    type_: c.type_.as_str().into(),
                    status: c.status.as_str().into(),
                    reason: bounded(c.reason.as_deref().unwrap_or_default()).into(),
                    message: bounded(c.message.as_deref().unwrap_or_default()).into(),
                    last_transition: ts(&c.last_transition_time),
                    last_update: ts(&c.last_probe_time),
                })
                .collect(),
            start_time: status.and_then(|s| ts(&s.start_time)),
            completion_time: status.and_then(|s| ts(&s.completion_time)),
            meta,
        })
    }
}

/// An Event (core/v1, including events written through events.k8s.io, which carry
/// `eventTime`/`series` instead of `firstTimestamp`/`lastTimestamp`).
#[derive(Debug, Clone)]
pub struct EventInfo {
    pub namespace: IStr,
    /// This and the other free-text fields are boxed strings, 8 bytes smaller than a `String`
    /// each: the view keeps thousands of events.
    pub name: Box<str>,
    pub involved_kind: IStr,
    pub involved_name: Box<str>,
    pub reason: IStr,
    /// The reason, typed at projection.
    pub kind: EventReason,
    /// The message with client-go's `(combined from similar events): ` prefix removed.
    pub message: Box<str>,
    pub type_: IStr,
    /// `reportingController`/`reportingComponent`, else `source.component`.
    pub source: IStr,
    pub count: i32,
    /// When the condition the event reports was first seen.
    pub first: Option<Timestamp>,
    /// When it was last seen.
    pub last: Option<Timestamp>,
}

impl EventInfo {
    /// True when the engine reads events like this one: a reason it decodes
    /// ([`EventReason`], not `Other`) about a Pod, ReplicaSet or Deployment. The view keeps
    /// only these (`Scheduled`, `Created`, `Started`, `Killing`, `ScalingReplicaSet`, ... and
    /// events about Nodes or Services decide no verdict), as it keeps only the pod conditions
    /// it reads.
    pub fn is_read(&self) -> bool {
        is_read(self.kind, &self.involved_kind)
    }
}

/// [`EventInfo::is_read`] of an event's reason and `involvedObject.kind`. An event not read
/// is projected with only its namespace, name, reason kind, count and times.
fn is_read(kind: EventReason, involved_kind: &str) -> bool {
    kind != EventReason::Other && matches!(involved_kind, "Pod" | "ReplicaSet" | "Deployment")
}

/// The prefix client-go's event aggregator adds after ten similar events.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// The fields of a core/v1 Event that [`EventInfo`] reads, borrowed from a k8s-openapi
/// `Event` or from a decoded [`EventWire`]: both projections go through
/// [`EventInfo::from_fields`].
struct EventFields<'a> {
    namespace: &'a str,
    name: &'a str,
    created: Option<Timestamp>,
    involved_kind: &'a str,
    involved_name: &'a str,
    reason: &'a str,
    message: &'a str,
    type_: &'a str,
    reporting_component: &'a str,
    source_component: &'a str,
    event_time: Option<Timestamp>,
    first_timestamp: Option<Timestamp>,
    last_timestamp: Option<Timestamp>,
    count: Option<i32>,
    series: Option<(Option<i32>, Option<Timestamp>)>,
}

impl EventInfo {
    fn from_fields(f: EventFields<'_>) -> Result<EventInfo, ProjectionError> {
        if f.name.is_empty() || f.namespace.is_empty() {
            return Err(ProjectionError {
                kind: "Event",
                name: format!("{}/{}", f.namespace, f.name),
                problem: "metadata.name or metadata.namespace is missing".into(),
            });
        }
        if f.involved_name.is_empty() {
            return Err(ProjectionError {
                kind: "Event",
                name: format!("{}/{}", f.namespace, f.name),
                problem: "involvedObject.name is missing".into(),
            });
        }
        let first = f.first_timestamp.or(f.event_time).or(f.created);
        let last = f
            .series
            .and_then(|(_, t)| t)
            .or(f.last_timestamp)
            .or(f.event_time)
            .or(first);
        let count = f.series.and_then(|(c, _)| c).or(f.count).unwrap_or(1);
        let kind = EventReason::parse(f.reason);
        if !is_read(kind, f.involved_kind) {
            // Counted and dropped by the view (only its name and time are used): most events
            // of a cluster (`Scheduled`, `Started`, Node events), so their text is not copied.
            return Ok(EventInfo {
                namespace: f.namespace.into(),
                name: f.name.into(),
                involved_kind: IStr::default(),
                involved_name: Box::default(),
                reason: IStr::default(),
                kind,
                message: Box::default(),
                type_: IStr::default(),
                source: IStr::default(),
                count,
                first,
                last,
            });
        }
        let message = f.message.strip_prefix(COMBINED_PREFIX).unwrap_or(f.message);
        let source = if f.reporting_component.is_empty() {
            f.source_component
        } else {
            f.reporting_component
        };
        Ok(EventInfo {
            // The event's own namespace, not its `involvedObject.namespace`: the API server
            // lets anyone who may create events in one namespace name an object of another,
            // and recorders (client-go, the scheduler, autoscalers) always write an event in
            // its object's namespace. An event naming another namespace's pod speaks for
            // nothing there.
            namespace: f.namespace.into(),
            name: f.name.into(),
            involved_kind: bounded(f.involved_kind).into(),
            involved_name: bounded(f.involved_name).into(),
            reason: bounded(f.reason).into(),
            kind,
            message: bounded(message).into(),
            type_: bounded(f.type_).into(),
            source: bounded(source).into(),
            count,
            first,
            last,
        })
    }
}

impl TryFrom<&core::Event> for EventInfo {
    type Error = ProjectionError;
    fn try_from(e: &core::Event) -> Result<Self, ProjectionError> {
        let io = &e.involved_object;
        EventInfo::from_fields(EventFields {
            namespace: e.metadata.namespace.as_deref().unwrap_or_default(),
            name: e.metadata.name.as_deref().unwrap_or_default(),
            created: ts(&e.metadata.creation_timestamp),
            involved_kind: io.kind.as_deref().unwrap_or_default(),
            involved_name: io.name.as_deref().unwrap_or_default(),
            reason: e.reason.as_deref().unwrap_or_default(),
            message: e.message.as_deref().unwrap_or_default(),
            type_: e.type_.as_deref().unwrap_or_default(),
            reporting_component: e.reporting_component.as_deref().unwrap_or_default(),
            source_component: e
                .source
                .as_ref()
                .and_then(|s| s.component.as_deref())
                .unwrap_or_default(),
            event_time: mts(&e.event_time),
            first_timestamp: ts(&e.first_timestamp),
            last_timestamp: ts(&e.last_timestamp),
            count: e.count,
            series: e
                .series
                .as_ref()
                .map(|s| (s.count, mts(&s.last_observed_time))),
        })
    }
}

impl EventInfo {
    /// Projects a decoded core/v1 Event; also returns its `metadata.resourceVersion`.
    fn from_wire(e: EventWire<'_>) -> Result<(EventInfo, String), ProjectionError> {
        let meta = e.metadata.unwrap_or_default();
        let involved = e.involved_object.unwrap_or_default();
        let t = wire::text;
        let info = EventInfo::from_fields(EventFields {
            namespace: t(&meta.namespace),
            name: t(&meta.name),
            created: ts(&meta.creation_timestamp),
            involved_kind: t(&involved.kind),
            involved_name: t(&involved.name),
            reason: t(&e.reason),
            message: t(&e.message),
            type_: t(&e.type_),
            reporting_component: t(&e.reporting_component),
            source_component: e
                .source
                .as_ref()
                .map(|s| t(&s.component))
                .unwrap_or_default(),
            event_time: mts(&e.event_time),
            first_timestamp: ts(&e.first_timestamp),
            last_timestamp: ts(&e.last_timestamp),
            count: e.count,
            series: e
                .series
                .as_ref()
                .map(|s| (s.count, mts(&s.last_observed_time))),
        })?;
        Ok((info, t(&meta.resource_version).to_string()))
    }
}

impl EventInfo {
    /// Projects a decoded events.k8s.io/v1 Event as [`TryFrom`] projects a typed one; also
    /// returns its `metadata.resourceVersion`.
    fn from_v1_wire(e: EventV1Wire<'_>) -> Result<(EventInfo, String), ProjectionError> {
        // The fields of a core/v1 Event under their new names, as the typed conversion below.
        let series = match e.series {
            Some(s) => {
                let Some(last) = s.last_observed_time else {
                    let m = e.metadata.unwrap_or_default();
                    return Err(ProjectionError {
                        kind: "Event",
                        name: format!("{}/{}", wire::text(&m.namespace), wire::text(&m.name)),
                        problem: "malformed: missing field `lastObservedTime` in `series`".into(),
                    });
                };
                Some(SeriesWire {
                    count: Some(s.count.unwrap_or_default()),
                    last_observed_time: Some(last),
                })
            }
            None => None,
        };
        EventInfo::from_wire(EventWire {
            metadata: e.metadata,
            involved_object: e.regarding,
            reason: e.reason,
            message: e.note,
            type_: e.type_,
            reporting_component: e.reporting_controller,
            source: e.deprecated_source,
            event_time: e.event_time,
            first_timestamp: e.deprecated_first_timestamp,
            last_timestamp: e.deprecated_last_timestamp,
            count: e.deprecated_count,
            series,
        })
    }
}

impl TryFrom<&k8s_openapi::api::events::v1::Event> for EventInfo {
    type Error = ProjectionError;
    /// events.k8s.io/v1 Events (a `kubectl get events.v1.events.k8s.io -o json` file).
    fn try_from(e: &k8s_openapi::api::events::v1::Event) -> Result<Self, ProjectionError> {
        let core = core::Event {
            metadata: e.metadata.clone(),
            involved_object: e.regarding.clone().unwrap_or_default(),
            message: e.note.clone(),
            reason: e.reason.clone(),
            type_: e.type_.clone(),
            reporting_component: e.reporting_controller.clone(),
            source: e.deprecated_source.clone(),
            event_time: e.event_time.clone(),
            first_timestamp: e.deprecated_first_timestamp.clone(),
            last_timestamp: e.deprecated_last_timestamp.clone(),
            count: e.deprecated_count,
            series: e.series.as_ref().map(|s| core::EventSeries {
                count: Some(s.count),
                last_observed_time: Some(s.last_observed_time.clone()),
            }),
            ..Default::default()
        };
        EventInfo::try_from(&core)
    }
}

/// The hash of an event's `(namespace, name)` in [`ClusterView`]'s `kept_names`, with the
/// view's own seeded hasher.
fn event_name_hash(hasher: &FastHash, namespace: &str, name: &str) -> u64 {
    use std::hash::BuildHasher;
    hasher.hash_one((namespace, name))
}

/// Most events kept per involved object: the newest win (a crash-looping pod emits many).
pub const MAX_EVENTS_PER_OBJECT: usize = 32;

/// `(namespace, involved kind, involved name)`.
type InvolvedKey = (IStr, IStr, String);

/// How long events about an object the view does not hold are kept (an event can arrive just
/// before its object).
const ORPHAN_EVENT_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// The hasher of the tables every event goes through (its bucket, its name, its interned
/// strings): foldhash, seeded per process, instead of SipHash, which was a sixth of applying
/// an event.
type FastHash = foldhash::fast::RandomState;

/// Gives back a table's memory once it holds less than half of what it has room for (a burst
/// of events leaves the peak capacity behind otherwise).
fn shrink_if_sparse<K: std::hash::Hash + Eq, V, S: std::hash::BuildHasher>(
    m: &mut HashMap<K, V, S>,
) {
    if m.capacity() > 2 * m.len() + 64 {
        m.shrink_to_fit();
    }
}

/// Everything the engine knows about the cluster.
#[derive(Debug, Default)]
pub struct ClusterView {
    nodes: BTreeMap<String, NodeInfo>,
    /// Boxed: a B-tree node keeps room for eleven entries and its siblings are about half
    /// full after in-order inserts (a list), so inline pods would leave half their size unused.
    pods: BTreeMap<Key, Box<PodInfo>>,
    /// Pods owned by a ReplicaSet whose name does not start with the ReplicaSet's name and a
    /// dash (adopted pods): [`ClusterView::pods_of`] finds the others by name.
    irregular: BTreeSet<Key>,
    /// Boxed, as the pods.
    deployments: BTreeMap<Key, Box<DeploymentInfo>>,
    replicasets: BTreeMap<Key, Box<ReplicaSetInfo>>,
    jobs: BTreeMap<Key, JobInfo>,
    /// TaskRuns, BuildRuns and OpenShift Builds, by kind and key.
    build_objects: BTreeMap<(Kind, Key), BuildObjectInfo>,
    /// Optional kinds the source watches: the sync waits for them too.
    expected: BTreeSet<Kind>,
    /// (namespace, involved kind, involved name) -> its events (at most MAX_EVENTS_PER_OBJECT,
    /// only those [`EventInfo::is_read`]; each with an empty `involved_name`, which is in the
    /// key). A delete finds its event by namespace and name: a scan, as rare as events expire.
    events: HashMap<InvolvedKey, Vec<EventInfo>, FastHash>,
    /// Hashes of the `(namespace, name)` of every kept event (and of some gone since: rebuilt
    /// when events are pruned). An event applied under a name not in it was never kept, so
    /// only the rare update that moves or drops a kept event looks through the buckets.
    kept_names: std::collections::HashSet<u64, FastHash>,
    /// Hashes the names in `kept_names`.
    name_hasher: FastHash,
    /// The number of events in `events` (counted at each change: the count is published after
    /// every batch of changes, and a sum over the buckets made the first lists quadratic).
    event_total: usize,
    /// Repeated event strings, stored once.
    interned: std::collections::HashSet<IStr, FastHash>,
    logs: HashMap<(String, String, String), LogState>,
    /// `registry/path:tag` -> what its registry answered.
    tags: HashMap<String, TagState>,
    /// Digest -> what it is in its registry (an image or an index), read once.
    manifests: HashMap<Digest, ManifestKind>,
    /// Digests whose manifest is being read, or could not be (since when).
    manifests_asked: HashMap<Digest, Option<Timestamp>>,
    synced: BTreeSet<Kind>,
    /// Kinds the API server refused to list.
    forbidden: BTreeSet<Kind>,
    /// Keys present when a relist began and not applied since.
    relisting: HashMap<(Kind, Option<String>), BTreeSet<Key>>,
    newest: Option<Timestamp>,
}

impl ClusterView {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one change. Never fails: a change for an unknown object is a no-op.
    pub fn apply(&mut self, change: Change) -> Affected {
        let affected = self.affected_by(&change);
        match change {
            Change::Apply(obj) => {
                if !self.relisting.is_empty() {
                    let (kind, key) = obj.kind_key();
                    for ((k, _), pending) in self.relisting.iter_mut() {
                        if *k == kind {
                            pending.remove(&key);
                        }
                    }
                }
                self.apply_object(obj)
            }
            Change::Delete(kind, key) => self.delete(kind, &key),
            Change::Relist(kind, ns) => {
                let keys = self
                    .keys(kind)
                    .into_iter()
                    .filter(|(n, _)| ns.as_ref().is_none_or(|ns| ns == n))
                    .collect();
                self.relisting.insert((kind, ns), keys);
            }
            Change::RelistDone(kind, ns) => {
                if let Some(stale) = self.relisting.remove(&(kind, ns)) {
                    if kind == Kind::Event {
                        self.delete_events(&stale);
                    } else {
                        for key in stale {
                            self.delete(kind, &key);
                        }
                    }
                }
            }
            Change::Synced(kind) => {
                self.synced.insert(kind);
                self.forbidden.remove(&kind);
            }
            Change::Expect(kind) => {
                self.expected.insert(kind);
            }
            Change::Forbidden(kind) => {
                if !self.synced.contains(&kind) {
                    self.forbidden.insert(kind);
                }
            }
            Change::PodLog {
                namespace,
                pod,
                container,
                facts,
            } => self.set_log(namespace, pod, container, LogState::Read(facts)),
            Change::PodLogPending {
                namespace,
                pod,
                container,
            } => self.set_log(namespace, pod, container, LogState::Pending),
            Change::PodLogUnavailable {
                namespace,
                pod,
                container,
                reason,
            } => self.set_log(namespace, pod, container, LogState::Unavailable(reason)),
            Change::RegistryPending { name } => {
                let last = self.tags.remove(&name).and_then(|s| match s {
                    TagState::Known(e) => Some(Box::new(e)),
                    TagState::Pending { last } => last,
                });
                self.tags.insert(name, TagState::Pending { last });
            }
            Change::RegistryAnswer { name, answer } => self.set_tag(name, answer),
            Change::RegistryManifest { digest, manifest } => {
                self.manifests_asked.remove(&digest);
                self.manifests.insert(digest, manifest);
            }
            Change::RegistryManifestPending { digest } => {
                self.manifests_asked.insert(digest, None);
            }
            Change::RegistryManifestUnavailable { digest, at } => {
                self.manifests_asked.insert(digest, Some(at));
            }
        }
        affected
    }

    /// What `change` invalidates, judged before it is applied (a deleted pod is read while it is
    /// still in the view).
    fn affected_by(&self, change: &Change) -> Affected {
        match change {
            Change::Apply(o) => {
                let (kind, ns) = o.kind_namespace();
                match o {
                    Object::Pod(p) if p.may_be_build() => builds_of(p),
                    Object::BuildObject(b) => object_builds(b),
                    _ if matches!(kind, Kind::Node | Kind::Job) => Affected::All,
                    _ => Affected::Namespace(ns.to_string()),
                }
            }
            Change::Delete(kind, key) if kind.is_optional() => {
                match self.build_objects.get(&(*kind, key.clone())) {
                    Some(b) => object_builds(b),
                    None => Affected::Nothing,
                }
            }
            Change::Delete(kind, key) => match (kind, self.pods.get(key)) {
                (Kind::Pod, Some(p)) if p.may_be_build() => builds_of(p),
                (Kind::Node | Kind::Job, _) => Affected::All,
                _ => Affected::Namespace(key.0.clone()),
            },
            Change::Expect(_) => Affected::Nothing,
            Change::PodLog { namespace, pod, .. }
            | Change::PodLogPending { namespace, pod, .. }
            | Change::PodLogUnavailable { namespace, pod, .. } => {
                match self.pods.get(&(namespace.clone(), pod.clone())) {
                    Some(p) => builds_of(p),
                    None => Affected::Nothing,
                }
            }
            Change::RegistryPending { .. } => Affected::Nothing,
            Change::RegistryAnswer { name, .. } => match ImageRef::parse(name) {
                Ok(r) => Affected::Repositories(BTreeSet::from([r.repository()])),
                Err(_) => Affected::Nothing,
            },
            Change::RegistryManifest { .. } | Change::RegistryManifestUnavailable { .. } => {
                Affected::All
            }
            Change::RegistryManifestPending { .. } => Affected::Nothing,
            Change::Relist(..) => Affected::Nothing,
            Change::RelistDone(..) | Change::Synced(_) | Change::Forbidden(_) => Affected::All,
        }
    }

    fn keys(&self, kind: Kind) -> BTreeSet<Key> {
        match kind {
            Kind::Node => self
                .nodes
                .keys()
                .map(|n| (String::new(), n.clone()))
                .collect(),
            Kind::Pod => self.pods.keys().cloned().collect(),
            Kind::Deployment => self.deployments.keys().cloned().collect(),
            Kind::ReplicaSet => self.replicasets.keys().cloned().collect(),
            Kind::Job => self.jobs.keys().cloned().collect(),
            Kind::Event => self
                .events
                .iter()
                .flat_map(|((ns, _, _), b)| b.iter().map(|e| (ns.to_string(), e.name.to_string())))
                .collect(),
            Kind::TaskRun | Kind::BuildRun | Kind::OpenShiftBuild => self
                .build_objects
                .keys()
                .filter(|(k, _)| *k == kind)
                .map(|(_, key)| key.clone())
                .collect(),
        }
    }

    fn intern(&mut self, s: &IStr) -> IStr {
        match self.interned.get(s.as_str()) {
            Some(i) => i.clone(),
            None => {
                self.interned.insert(s.clone());
                s.clone()
            }
        }
    }

    fn intern_owner(&mut self, o: &mut OwnerRef) {
        o.kind = self.intern(&o.kind);
        o.name = self.intern(&o.name);
        o.uid = self.intern(&o.uid);
    }

    fn intern_conditions(&mut self, conditions: &mut [Condition]) {
        for c in conditions {
            c.type_ = self.intern(&c.type_);
            c.status = self.intern(&c.status);
            c.reason = self.intern(&c.reason);
        }
    }

    fn bump(&mut self, t: Option<Timestamp>) {
        if let Some(t) = t
            && self.newest.is_none_or(|n| t > n)
        {
            self.newest = Some(t);
        }
    }

    fn apply_object(&mut self, obj: Object) {
        match obj {
            Object::Node(n) => {
                self.bump(n.newest_time);
                self.nodes.insert(n.name.clone(), n);
            }
            Object::Pod(mut p) => {
                self.bump(p.newest_time());
                for o in &mut p.meta.owners {
                    self.intern_owner(o);
                }
                for s in p.statuses.iter_mut().chain(p.init_statuses.iter_mut()) {
                    s.image_id_raw = self.intern(&s.image_id_raw);
                    s.name = self.intern(&s.name);
                }
                for c in p.containers.iter_mut().chain(p.init_containers.iter_mut()) {
                    c.image = self.intern(&c.image);
                    c.name = self.intern(&c.name);
                }
                self.intern_conditions(&mut p.conditions);
                if let Some(n) = &p.node_name {
                    p.node_name = Some(self.intern(n));
                }
                let named_after_owner = p.meta.owners.iter().all(|o| {
                    o.kind != "ReplicaSet"
                        || p.meta
                            .name
                            .strip_prefix(o.name.as_str())
                            .is_some_and(|rest| rest.starts_with('-'))
                });
                if named_after_owner {
                    if !self.irregular.is_empty() {
                        self.irregular.remove(&p.meta.key());
                    }
                } else {
                    self.irregular.insert(p.meta.key());
                }
                self.pods.insert(p.meta.key(), Box::new(p));
            }
            Object::Deployment(mut d) => {
                // Its conditions' times count too: a dump of only Deployments has a time.
                for c in &d.conditions {
                    self.bump(c.last_update.max(c.last_transition));
                }
                self.intern_conditions(&mut d.conditions);
                self.deployments.insert(d.meta.key(), Box::new(d));
            }
            Object::ReplicaSet(mut r) => {
                for o in &mut r.meta.owners {
                    self.intern_owner(o);
                }
                self.intern_conditions(&mut r.conditions);
                self.replicasets.insert(r.meta.key(), Box::new(r));
            }
            Object::Job(j) => {
                self.jobs.insert(j.meta.key(), j);
            }
            Object::BuildObject(b) => {
                self.bump(b.status.finished_at.or(b.status.started_at));
                self.build_objects.insert((b.kind, b.meta.key()), b);
            }
            Object::Event(e) => self.apply_event(e),
        }
    }

    /// Keeps an event the engine reads under its involved object (moving or dropping what an
    /// earlier version of it left elsewhere); drops one it does not read.
    fn apply_event(&mut self, mut e: EventInfo) {
        self.bump(e.last);
        let seen =
            self.kept_names
                .contains(&event_name_hash(&self.name_hasher, &e.namespace, &e.name));
        if !e.is_read() {
            // Not kept; an earlier version may have been (an update can change the
            // reason or the involved object, `kubectl patch` does): it goes.
            if seen {
                self.delete_events(&BTreeSet::from([(
                    e.namespace.to_string(),
                    e.name.to_string(),
                )]));
            }
            return;
        }
        e.namespace = self.intern(&e.namespace);
        e.involved_kind = self.intern(&e.involved_kind);
        e.reason = self.intern(&e.reason);
        e.type_ = self.intern(&e.type_);
        e.source = self.intern(&e.source);
        let ikey: InvolvedKey = (
            e.namespace.clone(),
            e.involved_kind.clone(),
            std::mem::take(&mut e.involved_name).into(),
        );
        let in_place = self
            .events
            .get(&ikey)
            .is_some_and(|b| b.iter().any(|x| x.name == e.name));
        if !in_place && seen {
            // Kept before about another object: moved, not copied.
            self.delete_events(&BTreeSet::from([(
                e.namespace.to_string(),
                e.name.to_string(),
            )]));
        }
        self.kept_names
            .insert(event_name_hash(&self.name_hasher, &e.namespace, &e.name));
        let bucket = self.events.entry(ikey).or_default();
        match bucket.iter_mut().find(|x| x.name == e.name) {
            Some(slot) => *slot = e,
            None => {
                // Buckets hold a handful: room for exactly what they hold.
                bucket.reserve_exact(1);
                bucket.push(e);
                self.event_total += 1;
            }
        }
        if bucket.len() > MAX_EVENTS_PER_OBJECT
            && let Some((pos, _)) = bucket
                .iter()
                .enumerate()
                .min_by(|(_, a), (_, b)| a.last.cmp(&b.last).then_with(|| a.name.cmp(&b.name)))
        {
            bucket.swap_remove(pos);
            self.event_total -= 1;
        }
    }

    /// Forgets the events of these `(namespace, event name)` keys, in one pass over the buckets.
    fn delete_events(&mut self, keys: &BTreeSet<Key>) {
        if keys.is_empty() {
            return;
        }
        let namespaces: std::collections::HashSet<&str> =
            keys.iter().map(|(ns, _)| ns.as_str()).collect();
        let wanted: std::collections::HashSet<(&str, &str)> = keys
            .iter()
            .map(|(ns, name)| (ns.as_str(), name.as_str()))
            .collect();
        let mut removed = 0;
        self.events.retain(|(ns, _, _), bucket| {
            if !namespaces.contains(ns.as_str()) {
                return true;
            }
            let had = bucket.len();
            bucket.retain(|e| !wanted.contains(&(ns.as_str(), &*e.name)));
            removed += had - bucket.len();
            !bucket.is_empty()
        });
        self.event_total -= removed;
    }

    /// Records a log's state, only while its pod is in the view (a log that arrives after its
    /// pod was deleted is dropped, so log state is pruned with its pod).
    fn set_log(&mut self, namespace: String, pod: String, container: String, state: LogState) {
        if self.pods.contains_key(&(namespace.clone(), pod.clone())) {
            self.logs.insert((namespace, pod, container), state);
        }
    }

    /// Forgets the events about a deleted object: they no longer decide any verdict, and under
    /// churn (pods replaced every rollout) they would otherwise stay until the hour's pruning.
    fn forget_events_of(&mut self, involved_kind: &str, key: &Key) {
        let ikey: InvolvedKey = (
            IStr::from(key.0.as_str()),
            IStr::from(involved_kind),
            key.1.clone(),
        );
        if let Some(bucket) = self.events.remove(&ikey) {
            self.event_total -= bucket.len();
        }
    }

    fn delete(&mut self, kind: Kind, key: &Key) {
        match kind {
            Kind::Node => {
                self.nodes.remove(&key.1);
            }
            Kind::Pod => {
                self.pods.remove(key);
                self.irregular.remove(key);
                self.logs
                    .retain(|(ns, pod, _), _| !(ns == &key.0 && pod == &key.1));
                self.forget_events_of("Pod", key);
            }
            Kind::Deployment => {
                self.deployments.remove(key);
                self.forget_events_of("Deployment", key);
            }
            Kind::ReplicaSet => {
                self.replicasets.remove(key);
                self.forget_events_of("ReplicaSet", key);
            }
            Kind::Job => {
                self.jobs.remove(key);
            }
            Kind::TaskRun | Kind::BuildRun | Kind::OpenShiftBuild => {
                self.build_objects.remove(&(kind, key.clone()));
            }
            Kind::Event => self.delete_events(&BTreeSet::from([key.clone()])),
        }
    }

    /// Forgets events last seen more than `retention` before `now` (the live source keeps an hour:
    /// older events no longer decide a verdict, and a watch would otherwise keep them forever),
    /// then the bookkeeping that only grows: interned strings no event uses any more, and the
    /// capacity the event tables kept from their peak.
    pub fn prune_events(&mut self, now: Timestamp, retention: jiff::SignedDuration) {
        self.prune_orphan_events(now - ORPHAN_EVENT_GRACE);
        let before = now - retention;
        let mut removed = 0;
        self.events.retain(|_, bucket| {
            let had = bucket.len();
            bucket.retain(|e| e.last.is_none_or(|l| l >= before));
            removed += had - bucket.len();
            if bucket.capacity() > bucket.len() {
                bucket.shrink_to_fit();
            }
            !bucket.is_empty()
        });
        self.event_total -= removed;
        let hasher = &self.name_hasher;
        self.kept_names = self
            .events
            .iter()
            .flat_map(|((ns, _, _), b)| b.iter().map(move |e| event_name_hash(hasher, ns, &e.name)))
            .collect();
        // An interned string held only by the set is no longer used.
        self.interned.retain(|s| s.is_shared());
        shrink_if_sparse(&mut self.events);
        shrink_if_sparse(&mut self.logs);
        if self.interned.capacity() > 2 * self.interned.len() + 64 {
            self.interned.shrink_to_fit();
        }
    }

    /// Forgets the events about a Pod, ReplicaSet or Deployment that is not in the view, last
    /// seen before `before`. Deleting an object forgets its events, but a relist brings them
    /// back (the API server keeps events for an hour after their object is gone); an event may
    /// also arrive shortly before its object, hence the grace.
    ///
    /// Only once the object's kind is listed: before that, every event's object is missing (the
    /// events list may finish first), and an event older than the grace would be lost for good.
    fn prune_orphan_events(&mut self, before: Timestamp) {
        let (pods, rss, deps) = (&self.pods, &self.replicasets, &self.deployments);
        let listed = |k: Kind| self.synced.contains(&k);
        let (pods_listed, rss_listed, deps_listed) = (
            listed(Kind::Pod),
            listed(Kind::ReplicaSet),
            listed(Kind::Deployment),
        );
        let mut removed = 0;
        self.events.retain(|(ns, kind, name), bucket| {
            let key = (ns.to_string(), name.clone());
            let exists = match kind.as_str() {
                "Pod" => !pods_listed || pods.contains_key(&key),
                "ReplicaSet" => !rss_listed || rss.contains_key(&key),
                "Deployment" => !deps_listed || deps.contains_key(&key),
                _ => true,
            };
            let keep = exists || bucket.iter().any(|e| e.last.is_none_or(|l| l >= before));
            if !keep {
                removed += bucket.len();
            }
            keep
        });
        self.event_total -= removed;
    }

    /// Sizes of the bookkeeping tables: (event buckets, events, interned strings, log states),
    /// for tests and the soak bench.
    pub fn bookkeeping(&self) -> (usize, usize, usize, usize) {
        (
            self.events.len(),
            self.event_count(),
            self.interned.len(),
            self.logs.len(),
        )
    }

    /// True once the first list of this kind has finished.
    pub fn is_listed(&self, kind: Kind) -> bool {
        self.synced.contains(&kind)
    }

    /// True once every kind has reported `Synced`.
    pub fn is_synced(&self) -> bool {
        self.required().all(|k| self.synced.contains(&k))
    }

    /// The kinds the sync waits for: the core kinds and the optional ones being watched.
    fn required(&self) -> impl Iterator<Item = Kind> + '_ {
        Kind::ALL.into_iter().chain(self.expected.iter().copied())
    }

    /// The optional kinds (build objects) the source watches.
    pub fn expected(&self) -> Vec<Kind> {
        self.expected.iter().copied().collect()
    }

    /// TaskRuns, BuildRuns and OpenShift Builds.
    pub fn build_objects(&self) -> impl Iterator<Item = &BuildObjectInfo> {
        self.build_objects.values()
    }

    /// Kinds not synced because listing them is forbidden.
    pub fn forbidden(&self) -> Vec<Kind> {
        self.forbidden.iter().copied().collect()
    }

    /// The kinds not yet synced.
    pub fn unsynced(&self) -> Vec<Kind> {
        self.required()
            .filter(|k| !self.synced.contains(k))
            .collect()
    }

    /// The newest timestamp seen in any object (node heartbeats, event times, pod condition and
    /// container state times): the `now` of an offline dump.
    pub fn newest_timestamp(&self) -> Option<Timestamp> {
        self.newest
    }

    /// The node of this name, if listed.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.get(name)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values()
    }

    pub fn pods(&self) -> impl Iterator<Item = &PodInfo> {
        self.pods.values().map(|p| &**p)
    }

    /// Pods of one namespace.
    pub fn pods_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a PodInfo> + 'a {
        self.pods
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, p)| &**p)
    }

    pub fn deployments(&self) -> impl Iterator<Item = &DeploymentInfo> {
        self.deployments.values().map(|d| &**d)
    }

    pub fn deployment(&self, namespace: &str, name: &str) -> Option<&DeploymentInfo> {
        self.deployments
            .get(&(namespace.to_string(), name.to_string()))
            .map(|d| &**d)
    }

    /// The pods of one namespace that may be owned by these ReplicaSets, in name order: those
    /// named after one of them (`<replicaset>-<suffix>`, as the ReplicaSet controller names
    /// them), and the adopted ones named otherwise. Ownership is the caller's to check. A range
    /// read per ReplicaSet instead of a scan of the namespace per Deployment.
    pub fn pods_of<'a>(
        &'a self,
        namespace: &str,
        replicasets: &[&ReplicaSetInfo],
    ) -> Vec<&'a PodInfo> {
        let mut pods: Vec<&PodInfo> = Vec::new();
        for rs in replicasets {
            let prefix = format!("{}-", rs.meta.name);
            pods.extend(
                self.pods
                    .range((namespace.to_string(), prefix.clone())..)
                    .take_while(|((ns, name), _)| ns == namespace && name.starts_with(&prefix))
                    .map(|(_, p)| &**p),
            );
        }
        pods.extend(
            self.irregular
                .range((namespace.to_string(), String::new())..)
                .take_while(|(ns, _)| ns == namespace)
                .filter_map(|k| self.pods.get(k).map(|p| &**p)),
        );
        pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        pods.dedup_by(|a, b| std::ptr::eq(*a, *b));
        pods
    }

    /// ReplicaSets of one namespace.
    pub fn replicasets_in<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a ReplicaSetInfo> + 'a {
        self.replicasets
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, r)| &**r)
    }

    pub fn jobs(&self) -> impl Iterator<Item = &JobInfo> {
        self.jobs.values()
    }

    /// Events whose involved object is `kind` `namespace/name`, oldest first.
    pub fn events_for(&self, namespace: &str, kind: &str, name: &str) -> Vec<&EventInfo> {
        let key: InvolvedKey = (IStr::from(namespace), IStr::from(kind), name.to_string());
        let mut v: Vec<&EventInfo> = self
            .events
            .get(&key)
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.last.cmp(&b.last).then_with(|| a.name.cmp(&b.name)));
        v
    }

    /// Facts read from a container's log, if a log was read.
    pub fn log_facts(&self, namespace: &str, pod: &str, container: &str) -> Option<&LogFacts> {
        match self.log_state(namespace, pod, container) {
            Some(LogState::Read(f)) => Some(f),
            _ => None,
        }
    }

    /// Records a registry answer for a tag; the digest's first-seen time survives refreshes
    /// that answer the same digest.
    fn set_tag(&mut self, name: String, answer: TagAnswer) {
        let prev = self.tags.get(&name).and_then(TagState::entry);
        // A refresh that failed keeps the last good answer, and says it is failing.
        if let (
            TagAnswer::Failed {
                result,
                reason,
                answered_at,
            },
            Some(TagEntry {
                answer: good @ TagAnswer::Resolved { .. },
                first_seen,
                failing,
            }),
        ) = (&answer, prev)
        {
            let entry = TagEntry {
                answer: good.clone(),
                first_seen: *first_seen,
                failing: Some(Failing {
                    result: *result,
                    reason: reason.clone(),
                    since: failing.as_ref().map_or(*answered_at, |f| f.since),
                    last: *answered_at,
                }),
            };
            self.tags.insert(name, TagState::Known(entry));
            return;
        }
        let first_seen = match (&answer, prev) {
            (
                TagAnswer::Resolved { digest, .. },
                Some(TagEntry {
                    answer: TagAnswer::Resolved { digest: old, .. },
                    first_seen,
                    ..
                }),
            ) if old == digest => *first_seen,
            (TagAnswer::Resolved { answered_at, .. }, _) => Some(*answered_at),
            _ => None,
        };
        if let TagAnswer::Resolved {
            digest,
            manifest: Some(m),
            ..
        } = &answer
        {
            self.manifests.insert(digest.clone(), m.clone());
        }
        let entry = TagEntry {
            answer,
            first_seen,
            failing: None,
        };
        self.tags.insert(name, TagState::Known(entry));
    }

    /// What the registry answered for `registry/path:tag`, if it was asked.
    pub fn tag_state(&self, name: &str) -> Option<&TagState> {
        self.tags.get(name)
    }

    /// Every tag the registry was asked about, with what it answered.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &TagState)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Registry lookups (tags, manifests) asked for whose answer the view does not hold yet.
    pub fn tags_pending(&self) -> usize {
        self.tags
            .values()
            .filter(|s| matches!(s, TagState::Pending { .. }))
            .count()
            + self
                .manifests_asked
                .values()
                .filter(|a| a.is_none())
                .count()
    }

    /// True when a digest's manifest should be read: not known, not being read, and not failed
    /// within `ttl` of `now`.
    pub fn manifest_due(&self, digest: &Digest, now: Timestamp, ttl: jiff::SignedDuration) -> bool {
        !self.manifests.contains_key(digest)
            && match self.manifests_asked.get(digest) {
                None => true,
                Some(None) => false,
                Some(Some(at)) => now.duration_since(*at) >= ttl,
            }
    }

    /// What a digest is in its registry, when it was read.
    pub fn manifest(&self, digest: &Digest) -> Option<&ManifestKind> {
        self.manifests.get(digest)
    }

    /// Forgets registry answers for tags no Deployment runs any more (`used` says which are),
    /// and manifests no kept answer, running pod or build (`built`) refers to.
    pub fn prune_registry(&mut self, used: impl Fn(&str) -> bool, built: impl Fn(&Digest) -> bool) {
        self.tags
            .retain(|name, s| used(name) || matches!(s, TagState::Pending { .. }));
        if self.manifests.is_empty() && self.manifests_asked.is_empty() {
            return;
        }
        let mut keep: std::collections::HashSet<Digest> = self
            .tags
            .values()
            .filter_map(TagState::entry)
            .filter_map(|e| match &e.answer {
                TagAnswer::Resolved { digest, .. } => Some(digest.clone()),
                _ => None,
            })
            .collect();
        for p in self.pods.values() {
            for s in &p.statuses {
                if let Some(d) = s.image_id().repo_digest() {
                    keep.insert(d.clone());
                }
            }
        }
        self.manifests.retain(|d, _| keep.contains(d) || built(d));
        self.manifests_asked
            .retain(|d, at| at.is_none() || keep.contains(d) || built(d));
    }

    /// Container logs asked for whose answer the view does not hold yet.
    pub fn logs_pending(&self) -> usize {
        self.logs
            .values()
            .filter(|s| matches!(s, LogState::Pending))
            .count()
    }

    /// What is known of a container's log: nothing (never asked for), pending, read, or
    /// unavailable.
    pub fn log_state(&self, namespace: &str, pod: &str, container: &str) -> Option<&LogState> {
        self.logs.get(&(
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        ))
    }

    fn event_count(&self) -> usize {
        debug_assert_eq!(
            self.event_total,
            self.events.values().map(Vec::len).sum::<usize>(),
            "the event count follows every change of the buckets"
        );
        self.event_total
    }

    /// Object counts per kind (events counted individually, those the view keeps).
    pub fn counts(&self) -> Vec<(Kind, usize)> {
        vec![
            (Kind::Node, self.nodes.len()),
            (Kind::Pod, self.pods.len()),
            (Kind::Deployment, self.deployments.len()),
            (Kind::ReplicaSet, self.replicasets.len()),
            (Kind::Event, self.event_count()),
            (Kind::Job, self.jobs.len()),
        ]
    }
}

/// A pod read from JSON as a dump or the live source reads it.
#[cfg(test)]
fn pod_json(p: serde_json::Value) -> PodInfo {
    match Object::from_json(Kind::Pod, false, p).unwrap() {
        Object::Pod(p) => p,
        o => panic!("not a pod: {o:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, pod: &str, last: i64) -> Object {
        let e: core::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"},
            "reason": "BackOff", "message": "m",
            "lastTimestamp": Timestamp::from_second(last).unwrap().to_string()
        }))
        .unwrap();
        Object::Event(EventInfo::try_from(&e).unwrap())
    }

    /// Free text is kept to `MAX_TEXT` bytes, cut at a character boundary: an Event message
    /// of 800 KB (the API server accepts it) is not kept whole in the view; nor a pod's, a
    /// condition's or a container state's. Text up to the bound is kept whole.
    #[test]
    fn free_text_is_bounded_at_a_character_boundary() {
        use crate::engine::text::MAX_TEXT;
        // 'é' is two bytes: MAX_TEXT falls inside one when the text starts with one byte.
        let huge = format!("x{}", "é".repeat(400_000));
        let cut = |s: &str| {
            assert!(s.len() <= MAX_TEXT + '…'.len_utf8(), "{} bytes", s.len());
            assert!(s.ends_with('…') && s.starts_with("xé"), "{}", &s[..10]);
        };
        let e: core::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e1", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
            "reason": "FailedScheduling", "message": huge,
        }))
        .unwrap();
        cut(&EventInfo::try_from(&e).unwrap().message);
        let p = serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"reason": huge, "message": huge,
                "conditions": [{"type": "PodScheduled", "status": "False", "message": huge}],
                "containerStatuses": [{"name": "c", "image": "x", "imageID": "", "ready": false,
                    "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull", "message": huge}}}]}
        });
        let p = pod_json(p);
        cut(&p.reason);
        cut(&p.message);
        cut(&p.conditions[0].message);
        let ContainerState::Waiting(w) = &p.statuses[0].state else {
            panic!("waiting")
        };
        cut(&w.message);
        assert_eq!(w.reason, "ErrImagePull");
        let exact = "y".repeat(MAX_TEXT);
        assert_eq!(bounded(&exact), exact.as_str());
        // A scheduler's message on a large cluster (a few KiB) is kept whole: the engine
        // decodes its reasons from all of it (verdicts cut only what they quote).
        let long = "1 node(s) had untolerated taint {team: a}, ".repeat(200);
        let e: core::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e2", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
            "reason": "FailedScheduling", "message": long,
        }))
        .unwrap();
        assert_eq!(&*EventInfo::try_from(&e).unwrap().message, long.as_str());
    }

    /// An event the view drops (a reason it does not decode, or about a Node) keeps only what
    /// the view uses of it, its name and times: its text is not copied. One it reads keeps all.
    #[test]
    fn events_not_read_are_projected_without_their_text() {
        let project = |reason: &str, kind: &str| {
            let e: core::Event = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "e1", "namespace": "shop"},
                "involvedObject": {"kind": kind, "name": "web-1", "namespace": "shop"},
                "reason": reason, "message": "a long message", "type": "Normal",
                "source": {"component": "kubelet"}, "count": 3,
                "firstTimestamp": "2026-11-20T10:00:00Z", "lastTimestamp": "2026-11-20T10:05:00Z"
            }))
            .unwrap();
            EventInfo::try_from(&e).unwrap()
        };
        for (reason, kind) in [("Scheduled", "Pod"), ("BackOff", "Node")] {
            let e = project(reason, kind);
            assert!(!e.is_read(), "{reason} about a {kind}");
            assert_eq!((&*e.namespace, &*e.name), ("shop", "e1"));
            assert_eq!(e.count, 3);
            assert_eq!(e.last, Some("2026-11-20T10:05:00Z".parse().unwrap()));
            assert!(e.message.is_empty() && e.involved_name.is_empty() && e.source.is_empty());
        }
        let e = project("BackOff", "Pod");
        assert!(e.is_read());
        assert_eq!(
            (&*e.message, &*e.involved_name, &*e.source, &*e.reason),
            ("a long message", "web-1", "kubelet", "BackOff")
        );
    }

    #[test]
    fn relist_deletes_what_was_not_listed_again() {
        let mut v = ClusterView::new();
        v.apply(Change::Apply(event("a", "p", 10)));
        v.apply(Change::Apply(event("b", "p", 20)));
        v.apply(Change::Synced(Kind::Event));
        v.apply(Change::Relist(Kind::Event, Some("other".into())));
        v.apply(Change::RelistDone(Kind::Event, Some("other".into())));
        assert_eq!(
            v.events_for("shop", "Pod", "p").len(),
            2,
            "another namespace's relist"
        );
        v.apply(Change::Relist(Kind::Event, None));
        v.apply(Change::Apply(event("b", "p", 30)));
        assert_eq!(
            v.events_for("shop", "Pod", "p").len(),
            2,
            "still there until RelistDone"
        );
        v.apply(Change::RelistDone(Kind::Event, None));
        let left: Vec<&str> = v
            .events_for("shop", "Pod", "p")
            .iter()
            .map(|e| &*e.name)
            .collect();
        assert_eq!(left, vec!["b"]);
    }

    #[test]
    fn events_are_bounded_per_object_and_by_age() {
        let mut v = ClusterView::new();
        for i in 0..(MAX_EVENTS_PER_OBJECT as i64 + 10) {
            v.apply(Change::Apply(event(&format!("e{i}"), "p", 1000 + i)));
        }
        let kept = v.events_for("shop", "Pod", "p");
        assert_eq!(kept.len(), MAX_EVENTS_PER_OBJECT);
        assert_eq!(&*kept[0].name, "e10", "the oldest were dropped");
        assert_eq!(v.counts()[4].1, MAX_EVENTS_PER_OBJECT);
        v.prune_events(
            Timestamp::from_second(1030).unwrap(),
            jiff::SignedDuration::ZERO,
        );
        assert_eq!(v.events_for("shop", "Pod", "p").len(), 12);
        assert_eq!(v.counts()[4].1, 12);
    }

    /// Issue 9 item 9: bookkeeping is pruned with what it belongs to. Interned strings of
    /// pruned events go, and the tables give back the capacity of their peak.
    #[test]
    fn pruning_events_prunes_interned_strings_and_peak_capacity() {
        let mut v = ClusterView::new();
        for i in 0..5000 {
            let e: core::Event = serde_json::from_value(serde_json::json!({
                "metadata": {"name": format!("e{i}"), "namespace": format!("ns{i}")},
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": format!("ns{i}")},
                "reason": "BackOff", "message": "m", "source": {"component": format!("kubelet-{i}")},
                "lastTimestamp": Timestamp::from_second(1000).unwrap().to_string()
            }))
            .unwrap();
            v.apply(Change::Apply(Object::Event(
                EventInfo::try_from(&e).unwrap(),
            )));
        }
        let (events, index, interned, _) = v.bookkeeping();
        assert_eq!((events, index), (5000, 5000));
        assert!(
            interned >= 10_000,
            "namespaces and sources interned: {interned}"
        );
        let peak = v.events.capacity();
        v.prune_events(
            Timestamp::from_second(2000).unwrap(),
            jiff::SignedDuration::ZERO,
        );
        assert_eq!(
            v.bookkeeping(),
            (0, 0, 0, 0),
            "every interned string went with its events"
        );
        assert!(
            v.events.capacity() < peak / 4,
            "{} of {peak}",
            v.events.capacity()
        );
    }

    /// A relist brings back the events of deleted objects (the API server keeps them an hour):
    /// they are forgotten once older than the grace, while a fresh one (its pod may be on its
    /// way) stays.
    ///
    /// Not before the pods are listed: the events list may finish first, and an event older
    /// than the grace whose pod is still on its way would be lost for good (found by replaying
    /// a dump on a real API server: a pull read as a failure, now and then).
    #[test]
    fn orphan_events_are_pruned_after_a_grace() {
        let mut v = ClusterView::new();
        v.apply(Change::Apply(event("old", "gone", 1000)));
        v.apply(Change::Apply(event("fresh", "coming", 1500)));
        let later = Timestamp::from_second(1000 + 310).unwrap();
        v.prune_events(later, jiff::SignedDuration::from_hours(1));
        assert_eq!(
            v.events_for("shop", "Pod", "gone").len(),
            1,
            "kept while the pods are not listed"
        );
        v.apply(Change::Synced(Kind::Pod));
        v.prune_events(later, jiff::SignedDuration::from_hours(1));
        assert!(v.events_for("shop", "Pod", "gone").is_empty());
        assert_eq!(v.events_for("shop", "Pod", "coming").len(), 1);
    }

    /// The view keeps the events the engine reads: `Scheduled` or `Started` about a pod, or any
    /// event about a Node, decide no verdict.
    #[test]
    fn events_the_engine_does_not_read_are_not_kept() {
        let mut v = ClusterView::new();
        let of = |reason: &str, kind: &str, name: &str| {
            let e: core::Event = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "shop"},
                "involvedObject": {"kind": kind, "name": "p", "namespace": "shop"},
                "reason": reason, "message": "m",
            }))
            .unwrap();
            Change::Apply(Object::Event(EventInfo::try_from(&e).unwrap()))
        };
        v.apply(of("Scheduled", "Pod", "a"));
        v.apply(of("Started", "Pod", "b"));
        v.apply(of("FailedMount", "Node", "c"));
        v.apply(of("FailedMount", "Pod", "d"));
        v.apply(of("SuccessfulCreate", "ReplicaSet", "e"));
        let kept: Vec<&str> = ["Pod", "ReplicaSet", "Node"]
            .iter()
            .flat_map(|k| v.events_for("shop", k, "p"))
            .map(|e| &*e.name)
            .collect();
        assert_eq!(kept, ["d", "e"]);
        assert_eq!(v.counts()[4].1, 2);
        v.apply(Change::Delete(Kind::Event, ("shop".into(), "d".into())));
        assert!(v.events_for("shop", "Pod", "p").is_empty());
    }

    /// An event decides only about objects of its own namespace (live review of issue 10: an
    /// event created in namespace `attacker` naming a pod of `shop` made that pod's deployment
    /// `converging/scaling_up`).
    #[test]
    fn an_event_speaks_only_for_its_own_namespace() {
        let mut v = ClusterView::new();
        let e: core::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "x", "namespace": "attacker"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "shop"},
            "reason": "TriggeredScaleUp", "message": "m",
        }))
        .unwrap();
        v.apply(Change::Apply(Object::Event(
            EventInfo::try_from(&e).unwrap(),
        )));
        assert!(v.events_for("shop", "Pod", "p").is_empty());
        assert_eq!(v.events_for("attacker", "Pod", "p").len(), 1);
    }

    /// An update that changes a kept event's reason to one the engine does not read, or the
    /// object it is about, leaves no stale copy (helper review of issue 10: a patched
    /// `TriggeredScaleUp` kept a pending pod `converging/scaling_up`, even across a relist).
    #[test]
    fn an_updated_event_moves_or_goes() {
        let mut v = ClusterView::new();
        let of = |reason: &str, pod: &str| {
            let e: core::Event = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "hand", "namespace": "shop"},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"},
                "reason": reason, "message": "m",
            }))
            .unwrap();
            Change::Apply(Object::Event(EventInfo::try_from(&e).unwrap()))
        };
        v.apply(of("TriggeredScaleUp", "p"));
        assert_eq!(v.events_for("shop", "Pod", "p").len(), 1);
        v.apply(of("TriggeredScaleUp", "q"));
        assert!(v.events_for("shop", "Pod", "p").is_empty(), "moved to q");
        assert_eq!(v.events_for("shop", "Pod", "q").len(), 1);
        assert_eq!(v.counts()[4].1, 1, "counted once");
        v.apply(of("Scheduled", "q"));
        assert!(
            v.events_for("shop", "Pod", "q").is_empty(),
            "no longer read"
        );
        assert_eq!(v.counts()[4].1, 0);
    }

    #[test]
    fn events_go_with_the_object_they_are_about() {
        let mut v = ClusterView::new();
        v.apply(Change::Apply(event("a", "p", 10)));
        v.apply(Change::Apply(event("b", "p", 20)));
        v.apply(Change::Apply(event("c", "q", 20)));
        v.apply(Change::Delete(Kind::Pod, ("shop".into(), "p".into())));
        assert!(v.events_for("shop", "Pod", "p").is_empty());
        assert_eq!(v.events_for("shop", "Pod", "q").len(), 1);
        assert_eq!(v.bookkeeping().1, 1, "only q's event is left");
    }

    #[test]
    fn placement_selects_nodes_like_the_node_affinity_filter() {
        let labels: BTreeMap<String, String> = [("pool", "infra"), ("gpus", "4")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let req = |key: &str, op: &str, values: &[&str]| NodeRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let terms = |t: Vec<Vec<NodeRequirement>>| Placement {
            required_terms: Some(t),
            ..Placement::default()
        };
        let selector = Placement {
            node_selector: vec![("pool".into(), "infra".into())],
            ..Placement::default()
        };
        assert_eq!(selector.selects(&labels), Some(true));
        assert_eq!(selector.selects(&BTreeMap::new()), Some(false));
        for (t, want) in [
            (vec![vec![req("pool", "In", &["infra", "general"])]], true),
            (vec![vec![req("pool", "NotIn", &["infra"])]], false),
            (vec![vec![req("zone", "NotIn", &["a"])]], true),
            (vec![vec![req("gpus", "Gt", &["2"])]], true),
            (vec![vec![req("gpus", "Lt", &["2"])]], false),
            (vec![vec![req("zone", "Exists", &[])]], false),
            (vec![vec![req("zone", "DoesNotExist", &[])]], true),
            // Terms are ORed, requirements ANDed; an empty term selects nothing.
            (
                vec![
                    vec![req("zone", "Exists", &[])],
                    vec![req("pool", "Exists", &[])],
                ],
                true,
            ),
            (
                vec![vec![req("pool", "Exists", &[]), req("zone", "Exists", &[])]],
                false,
            ),
            (vec![vec![]], false),
        ] {
            assert_eq!(terms(t.clone()).selects(&labels), Some(want), "{t:?}");
        }
        let fields = Placement {
            by_fields: true,
            ..Placement::default()
        };
        assert_eq!(
            fields.selects(&labels),
            None,
            "matchFields cannot be answered"
        );
    }

    fn pod(ns: &str, name: &str, image: &str, args: &[&str]) -> Object {
        let p = serde_json::json!({
            "metadata": {"name": name, "namespace": ns, "uid": format!("{name}-uid")},
            "spec": {"containers": [{"name": "c", "image": image, "args": args}]}
        });
        Object::Pod(pod_json(p))
    }

    #[test]
    fn a_change_affects_its_namespace_and_a_build_affects_everything() {
        let mut v = ClusterView::new();
        let app = pod("shop", "web-1", "registry.example.com/shop/web:1", &[]);
        let build = pod(
            "ci",
            "build-1",
            "gcr.io/kaniko-project/executor:v1.23.2",
            &[
                "--destination=registry.example.com/shop/web:1",
                "--context=.",
            ],
        );
        assert_eq!(
            v.apply(Change::Apply(app)),
            Affected::Namespace("shop".into())
        );
        let web = || Affected::Builds {
            namespace: "ci".into(),
            repositories: ["registry.example.com/shop/web".to_string()].into(),
        };
        assert_eq!(v.apply(Change::Apply(build)), web());
        assert_eq!(
            v.apply(Change::Apply(event("e", "web-1", 10))),
            Affected::Namespace("shop".into())
        );
        let log = Change::PodLogPending {
            namespace: "ci".into(),
            pod: "build-1".into(),
            container: "c".into(),
        };
        assert_eq!(
            v.apply(log),
            web(),
            "a build log affects its build's repository"
        );
        // A deleted pod is judged as it was: a build pod still affects its repository.
        assert_eq!(
            v.apply(Change::Delete(Kind::Pod, ("ci".into(), "build-1".into()))),
            web()
        );
        assert_eq!(
            v.apply(Change::Delete(Kind::Pod, ("shop".into(), "web-1".into()))),
            Affected::Namespace("shop".into())
        );
        assert_eq!(v.apply(Change::Relist(Kind::Pod, None)), Affected::Nothing);
        assert_eq!(v.apply(Change::RelistDone(Kind::Pod, None)), Affected::All);
        assert_eq!(v.apply(Change::Synced(Kind::Job)), Affected::All);
    }

    #[test]
    fn log_state_is_kept_only_while_its_pod_exists() {
        let mut v = ClusterView::new();
        let log = |state: &str| match state {
            "pending" => Change::PodLogPending {
                namespace: "ci".into(),
                pod: "build-1".into(),
                container: "c".into(),
            },
            _ => Change::PodLogUnavailable {
                namespace: "ci".into(),
                pod: "build-1".into(),
                container: "c".into(),
                reason: "gone".into(),
            },
        };
        v.apply(log("pending"));
        assert_eq!(
            v.log_state("ci", "build-1", "c"),
            None,
            "no pod, no log state"
        );
        v.apply(Change::Apply(pod(
            "ci",
            "build-1",
            "gcr.io/kaniko-project/executor:v1",
            &[],
        )));
        v.apply(log("pending"));
        assert_eq!(v.log_state("ci", "build-1", "c"), Some(&LogState::Pending));
        assert_eq!(v.logs_pending(), 1, "asked for, answer not applied yet");
        v.apply(log("unavailable"));
        assert_eq!(v.logs_pending(), 0);
        assert_eq!(
            v.log_state("ci", "build-1", "c"),
            Some(&LogState::Unavailable("gone".into()))
        );
        v.apply(Change::Delete(Kind::Pod, ("ci".into(), "build-1".into())));
        assert_eq!(
            v.log_state("ci", "build-1", "c"),
            None,
            "pruned with its pod"
        );
    }
}

#[cfg(test)]
mod owner_lookup_tests {
    use super::*;

    fn pod(name: &str, owner: &str) -> Object {
        let p = serde_json::json!({
            "metadata": {"name": name, "namespace": "shop", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": format!("uid-{owner}")}]},
            "spec": {"containers": [{"name": "c", "image": "x"}]}
        });
        Object::Pod(pod_json(p))
    }

    fn rs(name: &str) -> ReplicaSetInfo {
        let r: ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}")},
            "spec": {"selector": {}}
        }))
        .unwrap();
        ReplicaSetInfo::try_from(&r).unwrap()
    }

    /// The pods of a ReplicaSet are found by their name (`<replicaset>-<suffix>`), and pods it
    /// adopted under another name too; a pod renamed by a later update moves between the two.
    #[test]
    fn pods_of_finds_named_and_adopted_pods() {
        let mut v = ClusterView::new();
        v.apply(Change::Apply(pod("web-7d9f-abcde", "web-7d9f")));
        v.apply(Change::Apply(pod("web-7d9f2-zzzzz", "web-7d9f2")));
        v.apply(Change::Apply(pod("handmade", "web-7d9f")));
        v.apply(Change::Apply(pod("other-1", "other")));
        let web = rs("web-7d9f");
        let names = |v: &ClusterView| -> Vec<String> {
            v.pods_of("shop", &[&web])
                .iter()
                .map(|p| p.meta.name.clone())
                .collect()
        };
        // `web-7d9f2-zzzzz` belongs to another ReplicaSet: the dash ends the prefix.
        assert_eq!(names(&v), ["handmade", "web-7d9f-abcde"]);
        v.apply(Change::Apply(pod("handmade", "other")));
        v.apply(Change::Delete(
            Kind::Pod,
            ("shop".into(), "web-7d9f-abcde".into()),
        ));
        assert_eq!(
            names(&v),
            ["handmade"],
            "a candidate; ownership is the caller's"
        );
        v.apply(Change::Delete(
            Kind::Pod,
            ("shop".into(), "handmade".into()),
        ));
        assert!(names(&v).is_empty());
    }

    /// Projected lists have room for exactly what they keep (a pod is kept for as long as it
    /// exists: spare room is memory per pod), whether the list was optional, filtered or
    /// chained; and the strings replicas repeat are stored once.
    #[test]
    fn projections_keep_exact_lists_and_share_repeated_strings() {
        let pod = |name: &str| -> PodInfo {
            let p = serde_json::json!({
                "metadata": {"name": name, "namespace": "shop", "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "u1"}]},
                "spec": {"containers": [{"name": "app", "image": "kaniko", "command": ["/kaniko/executor"],
                                         "args": ["--destination=r.io/a:1"]}],
                         "imagePullSecrets": [{"name": "pull"}, {"name": ""}],
                         "nodeSelector": {"disk": "ssd"},
                         "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                             "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}},
                "status": {"conditions": [
                    {"type": "Initialized", "status": "True"},
                    {"type": "Ready", "status": "True"},
                    {"type": "PodScheduled", "status": "True"}],
                  "containerStatuses": [{"name": "app", "image": "x", "imageID": "r.io/a@sha256:00", "ready": true, "restartCount": 0}]}
            });
            pod_json(p)
        };
        let p = pod("web-7d9f-a");
        let exact = |what: &str, len: usize, capacity: usize| {
            assert_eq!(capacity, len, "{what}: room for {capacity}, holds {len}")
        };
        // A pod's own lists are boxed slices: exact by their type, 8 bytes smaller each.
        exact(
            "argv",
            p.containers[0].argv.len(),
            p.containers[0].argv.capacity(),
        );
        let placement = p.placement.as_deref().unwrap();
        let terms = placement.required_terms.as_ref().unwrap();
        exact(
            "node selector",
            placement.node_selector.len(),
            placement.node_selector.capacity(),
        );
        exact("requirements", terms[0].len(), terms[0].capacity());
        assert_eq!(p.conditions.len(), 2, "Initialized is not read");
        assert_eq!(&*p.pull_secrets, ["pull"]);

        let mut v = ClusterView::new();
        v.apply(Change::Apply(Object::Pod(pod("web-7d9f-a"))));
        v.apply(Change::Apply(Object::Pod(pod("web-7d9f-b"))));
        let pods: Vec<&PodInfo> = v.pods_in("shop").collect();
        let [a, b] = pods[..] else {
            panic!("two pods: {}", pods.len())
        };
        let same = |x: &IStr, y: &IStr| std::ptr::eq(x.as_str(), y.as_str());
        assert!(
            same(&a.statuses[0].name, &b.statuses[0].name),
            "container name"
        );
        assert!(same(&a.containers[0].name, &b.containers[0].name));
        assert!(same(
            &a.statuses[0].image_id_raw,
            &b.statuses[0].image_id_raw
        ));
        assert!(
            same(&a.conditions[0].status, &b.conditions[1].status),
            "True"
        );
        assert!(same(&a.meta.owners[0].uid, &b.meta.owners[0].uid));
    }
}
