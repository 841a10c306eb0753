//! The live source: kube watchers for Nodes, Pods, Deployments, ReplicaSets, Events and Jobs
//! (all namespaces, or the given ones), turned into the same `Change`s as a dump. Objects are
//! decoded straight into their projections ([`Projected`]), one item at a time, so a malformed
//! object is skipped and counted instead of ending the watch, and the full object is never kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, ApiResource};
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::{
    ResourceLabels, RestartLabels, RestartReason, SourceErrorLabels, SourceErrorStep, SourceEvent,
    SourceMetrics, WatchEventLabels, WatchEventType,
};
use crate::config::KubeOptions;
use crate::engine::view::{Change, Kind, Object, ProjectionError};

/// Why the live source could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No kubeconfig and no in-cluster configuration, or an invalid one.
    #[error("cannot configure a Kubernetes client (KUBECONFIG, ~/.kube/config or in-cluster): {0}")]
    Config(String),
    /// The API server does not answer (connection refused, DNS, TLS, or no answer in time).
    #[error("cannot reach the API server at {server}: {error}")]
    Unreachable { server: String, error: String },
}

/// Asks the API server for its version, once, within [`PROBE_TIMEOUT`]: a `check` against a
/// server that cannot be reached fails at once, with one line naming the server and the error
/// (as kubectl does), instead of retrying its lists until `--timeout`.
pub async fn reachable(c: &Connected) -> Result<(), LiveError> {
    let unreachable = |error: String| LiveError::Unreachable {
        server: c.server.clone(),
        error,
    };
    match tokio::time::timeout(PROBE_TIMEOUT, c.client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(root_cause(&e))),
        Err(_) => Err(unreachable(format!(
            "no answer within {}s",
            PROBE_TIMEOUT.as_secs()
        ))),
    }
}

/// The innermost error of a chain (`Connection refused (os error 111)`, not `client error
/// (Connect)`), with the outer one when it says more than that.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    if std::ptr::addr_eq(inner, e) {
        e.to_string()
    } else {
        format!("{inner} ({e})")
    }
}

/// Builds a client the way kubectl would: `--kubeconfig`, else `KUBECONFIG`/`~/.kube/config`,
/// else in-cluster; `--context`, `--cluster` and `--user` choose within the kubeconfig. Returns
/// the client and the context's namespace (kubectl's default for `-n`).
///
/// Every read has a timeout of [`stall_timeout`]`(watch_timeout)`: a healthy watch is ended by
/// the server every `watch_timeout` (and carries bookmarks), and a list page arrives at once, so
/// a connection silent for longer is a hung list or a half-open watch. Its watch fails, is
/// counted (`reason="stalled"`) and listed again, and health reads unhealthy meanwhile.
///
/// The client's own retry of 429/503/504 is off: it retries up to 15 times over minutes, which
/// would hide an outage from the health signals and keep a watch resuming from a resourceVersion
/// the server answers "Too large resource version" (504) for. Watches are listed again with
/// their own short backoff instead, and log fetches retry a bounded number of times.
/// Refuses a `--context`, `--cluster` or `--user` the kubeconfig does not have, as kubectl does
/// (kube's loader would fall back to no credentials for an unknown user).
fn check_names(
    kc: &kube::config::Kubeconfig,
    chosen: &kube::config::KubeConfigOptions,
) -> Result<(), String> {
    let missing = |what: &str, name: &Option<String>, names: Vec<&str>| match name {
        Some(n) if !names.contains(&n.as_str()) => Err(format!(
            "no {what} named {n:?} (it has: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )),
        _ => Ok(()),
    };
    missing(
        "context",
        &chosen.context,
        kc.contexts.iter().map(|c| c.name.as_str()).collect(),
    )?;
    missing(
        "cluster",
        &chosen.cluster,
        kc.clusters.iter().map(|c| c.name.as_str()).collect(),
    )?;
    missing(
        "user",
        &chosen.user,
        kc.auth_infos.iter().map(|c| c.name.as_str()).collect(),
    )
}

/// A configured client, the context's namespace and the API server's URL (for messages).
pub struct Connected {
    pub client: Client,
    pub namespace: String,
    pub server: String,
}

pub async fn client(
    options: &KubeOptions,
    watch_timeout: Duration,
) -> Result<Connected, LiveError> {
    let err = |e: &dyn std::fmt::Display| LiveError::Config(e.to_string());
    let chosen = kube::config::KubeConfigOptions {
        context: options.context.clone(),
        cluster: options.cluster.clone(),
        user: options.user.clone(),
    };
    let explicit = options.kubeconfig.is_some()
        || chosen.context.is_some()
        || chosen.cluster.is_some()
        || chosen.user.is_some();
    let mut config = if explicit {
        let (kc, source) = match &options.kubeconfig {
            Some(path) => (
                kube::config::Kubeconfig::read_from(path),
                path.display().to_string(),
            ),
            None => (
                kube::config::Kubeconfig::read(),
                "KUBECONFIG or ~/.kube/config".to_string(),
            ),
        };
        let kc = kc.map_err(|e| LiveError::Config(format!("{source}: {}", root_cause(&e))))?;
        check_names(&kc, &chosen).map_err(|m| LiveError::Config(format!("{source}: {m}")))?;
        kube::Config::from_custom_kubeconfig(kc, &chosen)
            .await
            .map_err(|e| LiveError::Config(format!("{source}: {e}")))?
    } else {
        kube::Config::infer().await.map_err(|e| err(&e))?
    };
    config.default_retry = false;
    config.read_timeout = Some(stall_timeout(watch_timeout));
    // A new connection that hangs in its TCP or TLS handshake (a black-holed link) fails as
    // soon as the probe would say the source is down, not after the client's 30 s default.
    config.connect_timeout = Some(PROBE_TIMEOUT.min(stall_timeout(watch_timeout)));
    let namespace = config.default_namespace.clone();
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| err(&e))?;
    Ok(Connected {
        client,
        namespace,
        server,
    })
}

fn resource(kind: Kind) -> ApiResource {
    match kind {
        Kind::Node => ApiResource::erase::<Node>(&()),
        Kind::Pod => ApiResource::erase::<Pod>(&()),
        Kind::Deployment => ApiResource::erase::<Deployment>(&()),
        Kind::ReplicaSet => ApiResource::erase::<ReplicaSet>(&()),
        Kind::Event => ApiResource::erase::<CoreEvent>(&()),
        Kind::Job => ApiResource::erase::<Job>(&()),
        // Found by discovery (`optional_api`); these are the preferred versions.
        Kind::TaskRun | Kind::BuildRun | Kind::OpenShiftBuild => {
            let (group, versions, plural) = optional_api(kind);
            custom(kind, group, versions[0], plural)
        }
    }
}

/// The API group, the versions in order of preference, and the plural of a build object.
fn optional_api(kind: Kind) -> (&'static str, &'static [&'static str], &'static str) {
    match kind {
        Kind::TaskRun => ("tekton.dev", &["v1", "v1beta1"], "taskruns"),
        Kind::BuildRun => ("shipwright.io", &["v1beta1"], "buildruns"),
        _ => ("build.openshift.io", &["v1"], "builds"),
    }
}

fn custom(kind: Kind, group: &str, version: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.as_str().into(),
        plural: plural.into(),
    }
}

/// The served version of a build object's API, asked of discovery once
/// (`GET /apis/<group>/<version>`): `Ok(None)` when no version serves it (the CRD is not
/// installed, or not OpenShift: normal), `Err` when discovery itself fails (an APIService that
/// answers 503).
async fn discover(client: &Client, kind: Kind) -> Result<Option<ApiResource>, String> {
    let (group, versions, plural) = optional_api(kind);
    let mut failed = None;
    for v in versions {
        let asked = tokio::time::timeout(
            PROBE_TIMEOUT,
            client.list_api_group_resources(&format!("{group}/{v}")),
        )
        .await;
        match asked {
            Ok(Ok(list)) if list.resources.iter().any(|r| r.name == *plural) => {
                return Ok(Some(custom(kind, group, v, plural)));
            }
            Ok(Ok(_)) => {}
            Ok(Err(kube::Error::Api(s))) if s.code == 404 => {}
            Ok(Err(e)) => failed = Some(format!("{group}/{v}: {}", root_cause(&e))),
            Err(_) => failed = Some(format!("{group}/{v}: no answer in time")),
        }
    }
    failed.map_or(Ok(None), Err)
}

/// How often the API of a build object that is not watched (not served, or gone) is asked of
/// discovery again: a CRD installed after kube-verdict started is watched within this time.
pub const REDISCOVER: Duration = Duration::from_secs(60);

/// Watches one kind of build object for as long as the process runs: asks discovery, watches
/// while the API is served (every watch ends when the API is gone: a CRD deleted), asks again
/// every [`REDISCOVER`]. The first outcome ends its part of the sync: absent, failing (warned
/// once) or listed; the sync never waits on an optional API.
async fn supervise_optional(
    kind: Kind,
    client: Client,
    namespaces: Vec<String>,
    watch_timeout: Duration,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
    restarted: tokio::sync::watch::Receiver<u64>,
) {
    let mut synced = false;
    let mut warned = false;
    loop {
        match discover(&client, kind).await {
            Ok(Some(ar)) => {
                tracing::info!(resource = kind.resource(), api_version = %ar.api_version, "watching build objects");
                warned = false;
                let scopes: Vec<Option<String>> = if namespaces.is_empty() {
                    vec![None]
                } else {
                    namespaces.iter().cloned().map(Some).collect()
                };
                let pending =
                    Arc::new(std::sync::Mutex::new(HashMap::from([(kind, scopes.len())])));
                let watches: Vec<_> = scopes
                    .into_iter()
                    .map(|ns| {
                        let w = Watch {
                            kind,
                            ns,
                            client: client.clone(),
                            ar: ar.clone(),
                            watch_timeout,
                        };
                        spawn_watch(
                            w,
                            metrics.clone(),
                            tx.clone(),
                            pending.clone(),
                            restarted.clone(),
                        )
                    })
                    .collect();
                for w in watches {
                    let _ = w.await;
                }
                // Every watch ended: the API is gone (its objects were forgotten).
                synced = true;
                tracing::info!(
                    resource = kind.resource(),
                    "build object API gone; asking discovery again every minute"
                );
            }
            Ok(None) => {
                tracing::debug!(resource = kind.resource(), "API not served; not watched");
            }
            Err(e) => {
                if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(resource = kind.resource(), error = %e,
                        "API discovery failed; judging without these build objects, asking again every minute");
                }
            }
        }
        if !std::mem::replace(&mut synced, true)
            && tx
                .send(SourceEvent::Change(Change::Synced(kind)))
                .await
                .is_err()
        {
            return;
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(REDISCOVER).await;
    }
}

/// A watched object as the client reads it: its raw JSON text, typed (k8s-openapi) and
/// projected only when it is used, so neither a whole page of full objects nor a
/// `serde_json::Value` of each is ever held. An object that does not type or project is kept as
/// its error (named from its metadata), skipped and counted, instead of failing its whole page.
/// `KIND` is the position of its kind in [`WATCHED`].
///
/// A list page only finds where each item starts and ends; its items are projected by
/// [`watch_one`] while [`prefetched`] already asks for the next page. A watch event is projected
/// at once: the watcher reads its resourceVersion.
#[derive(Debug, Clone)]
pub struct Projected<const KIND: usize> {
    raw: Box<serde_json::value::RawValue>,
    decoded: std::sync::OnceLock<Box<Decoded>>,
}

#[derive(Debug, Clone)]
struct Decoded {
    /// Name, namespace and resourceVersion only (the watcher resumes from the last).
    metadata: ObjectMeta,
    object: Result<Object, ProjectionError>,
}

/// The kinds of [`Projected`], by position: [`Kind::ALL`], then [`Kind::OPTIONAL`].
pub const WATCHED: [Kind; Kind::ALL.len() + Kind::OPTIONAL.len()] = {
    let mut every = [Kind::Node; Kind::ALL.len() + Kind::OPTIONAL.len()];
    let mut i = 0;
    while i < Kind::ALL.len() {
        every[i] = Kind::ALL[i];
        i += 1;
    }
    while i < every.len() {
        every[i] = Kind::OPTIONAL[i - Kind::ALL.len()];
        i += 1;
    }
    every
};

impl<const KIND: usize> Projected<KIND> {
    /// The object, typed and projected (now, unless its metadata was read before).
    pub fn into_object(self) -> Result<Object, ProjectionError> {
        match self.decoded.into_inner() {
            Some(d) => d.object,
            None => decode::<KIND>(self.raw.get()).object,
        }
    }

    fn decoded(&self) -> &Decoded {
        self.decoded
            .get_or_init(|| Box::new(decode::<KIND>(self.raw.get())))
    }
}

/// Types and projects one object from its JSON text. Never fails: an object that does not
/// project holds the error, named from whatever of its metadata can be read.
fn decode<const KIND: usize>(text: &str) -> Decoded {
    let kind = WATCHED[KIND];
    let mut de = serde_json::Deserializer::from_str(text);
    match Object::decode(kind, false, &mut de) {
        Ok((object, rv)) => {
            let (_, (namespace, name)) = object.kind_key();
            Decoded {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(namespace).filter(|n| !n.is_empty()),
                    resource_version: Some(rv).filter(|r| !r.is_empty()),
                    ..ObjectMeta::default()
                },
                object: Ok(object),
            }
        }
        Err(mut e) => {
            /// Only the metadata, to name the object (and resume the watch past it).
            #[derive(serde::Deserialize, Default)]
            struct Named {
                #[serde(default)]
                metadata: NamedMeta,
            }
            #[derive(serde::Deserialize, Default)]
            #[serde(rename_all = "camelCase")]
            struct NamedMeta {
                name: Option<String>,
                namespace: Option<String>,
                resource_version: Option<String>,
            }
            let m = serde_json::from_str::<Named>(text)
                .unwrap_or_default()
                .metadata;
            if e.name.is_empty() {
                e.name = format!(
                    "{}/{}",
                    m.namespace.as_deref().unwrap_or_default(),
                    m.name.as_deref().unwrap_or_default()
                );
            }
            Decoded {
                metadata: ObjectMeta {
                    name: m.name,
                    namespace: m.namespace,
                    resource_version: m.resource_version,
                    ..ObjectMeta::default()
                },
                object: Err(e),
            }
        }
    }
}

impl<'de, const KIND: usize> serde::Deserialize<'de> for Projected<KIND> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The item's text, found by one scan (kube decodes bodies with serde_json).
        Ok(Projected {
            raw: serde::Deserialize::deserialize(d)?,
            decoded: std::sync::OnceLock::new(),
        })
    }
}

impl<const KIND: usize> kube::Resource for Projected<KIND> {
    type DynamicType = ApiResource;
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.kind.as_str().into()
    }
    fn group(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.group.as_str().into()
    }
    fn version(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.version.as_str().into()
    }
    fn api_version(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.api_version.as_str().into()
    }
    fn plural(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.plural.as_str().into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.decoded().metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.decoded();
        match self.decoded.get_mut() {
            Some(d) => &mut d.metadata,
            None => unreachable!("decoded just above"),
        }
    }
}

/// Starts one watcher per kind (and per namespace when namespaces are given; Nodes are
/// cluster-wide). Sends `Synced(kind)` once every watcher of that kind finished its first list.
pub fn start(
    client: Client,
    namespaces: &[String],
    watch_nodes: bool,
    watch_timeout: Duration,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
) -> RestartWatches {
    let (restart, restarted) = tokio::sync::watch::channel(0u64);
    let mut scopes: Vec<(Kind, Option<String>)> = Vec::new();
    if !watch_nodes {
        // Nothing to list: Nodes are synced (and empty) from the start.
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx
                .send(SourceEvent::Change(Change::Synced(Kind::Node)))
                .await;
        });
    }
    for kind in Kind::ALL {
        if kind == Kind::Node && !watch_nodes {
            continue;
        }
        if kind == Kind::Node || namespaces.is_empty() {
            scopes.push((kind, None));
        } else {
            for ns in namespaces {
                scopes.push((kind, Some(ns.clone())));
            }
        }
    }
    let mut per_kind: HashMap<Kind, usize> = HashMap::new();
    for (k, _) in &scopes {
        *per_kind.entry(*k).or_default() += 1;
    }
    let pending = Arc::new(std::sync::Mutex::new(per_kind));
    // Build objects of CRD-backed builders: the sync waits for each until discovery says its
    // API is absent (normal) or its watches listed. Told before any watch starts, so no sync is
    // declared without them.
    for kind in Kind::OPTIONAL {
        let _ = tx.try_send(SourceEvent::Change(Change::Expect(kind)));
        tokio::spawn(supervise_optional(
            kind,
            client.clone(),
            namespaces.to_vec(),
            watch_timeout,
            metrics.clone(),
            tx.clone(),
            restarted.clone(),
        ));
    }
    for (kind, ns) in scopes {
        spawn_watch(
            Watch {
                kind,
                ns,
                client: client.clone(),
                ar: resource(kind),
                watch_timeout,
            },
            metrics.clone(),
            tx.clone(),
            pending.clone(),
            restarted.clone(),
        );
    }
    RestartWatches(restart)
}

/// Lists every watch again: a watch whose connection died silently (a black-holed link that
/// healed) would otherwise wait for its idle timeout before noticing, while the probe, on a
/// new connection, already says the API server answers.
#[derive(Debug, Clone)]
pub struct RestartWatches(tokio::sync::watch::Sender<u64>);

impl RestartWatches {
    /// Every watch ends and lists again at once (each unhealthy until its list completes).
    pub fn restart_all(&self) {
        self.0.send_modify(|n| *n += 1);
    }
}

/// Seconds the API server keeps one watch request open (it ends it then, and the watch resumes):
/// the client also gives up on a watch silent for this long plus a margin, so a connection that
/// died silently is noticed within about a minute even without the probe.
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection may stay silent: the watch timeout and half again.
pub fn stall_timeout(watch_timeout: Duration) -> Duration {
    watch_timeout + watch_timeout / 2
}

/// How soon a watch is listed again after an error: exponential from 0.5 s to 4 s, plus up to
/// as much again of jitter (so at most 8 s), without end (a watch never gives up). Short
/// enough that the truth is back within seconds of a healed link; reset by every completed
/// list.
fn relist_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(4))
        .with_jitter()
        .without_max_times()
        .build()
}

/// True when the watch must be listed again at once: its resourceVersion is gone (HTTP 410 on
/// the watch request, or a 410 ERROR event inside the stream, as the real API server sends it
/// after a compaction), or it is ahead of the server ("Too large resource version", after an
/// etcd restore). Resuming from that resourceVersion would fail for ever.
pub fn must_relist_now(e: &watcher::Error) -> bool {
    let status = match e {
        watcher::Error::WatchError(s) => Some(&**s),
        watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s))
        | watcher::Error::InitialListFailed(kube::Error::Api(s)) => Some(&**s),
        _ => None,
    };
    status.is_some_and(|s| {
        s.code == 410
            || s.reason == "Expired"
            || s.reason == "Gone"
            || s.message.contains("Too large resource version")
            || s.message.contains("too old resource version")
    })
}

/// One watch: a kind, in one namespace or everywhere, with its server-side timeout.
struct Watch {
    kind: Kind,
    ns: Option<String>,
    client: Client,
    ar: ApiResource,
    watch_timeout: Duration,
}

impl Watch {
    /// The API of its kind, in its namespace or everywhere.
    fn api<const KIND: usize>(&self) -> Api<Projected<KIND>> {
        match &self.ns {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &self.ar),
            None => Api::all_with(self.client.clone(), &self.ar),
        }
    }
}

/// Starts [`watch_one`] for the watch's kind (each kind decodes into its own [`Projected`]).
fn spawn_watch(
    w: Watch,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
    pending: Arc<std::sync::Mutex<HashMap<Kind, usize>>>,
    restarted: tokio::sync::watch::Receiver<u64>,
) -> tokio::task::JoinHandle<()> {
    macro_rules! by_kind {
        ($($i:literal)*) => {
            match WATCHED.iter().position(|k| *k == w.kind) {
                $(Some($i) => tokio::spawn(watch_one::<$i>(w, metrics, tx, pending, restarted)),)*
                _ => unreachable!("every kind is in WATCHED"),
            }
        };
    }
    // One arm per position of WATCHED (a new kind must add one).
    const _: () = assert!(WATCHED.len() == 9);
    by_kind!(0 1 2 3 4 5 6 7 8)
}

/// Lists in pages of 500; each watch request ends after `timeout` (server side).
fn watch_config(timeout: Duration) -> watcher::Config {
    watcher::Config::default()
        .page_size(500)
        .timeout(timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32)
}

/// Why a failed watch is listed again: expired resourceVersions, a read that timed out (a hung
/// list or a silent watch), or any other error.
fn restart_reason(e: &watcher::Error) -> RestartReason {
    if must_relist_now(e) {
        return RestartReason::Expired;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return RestartReason::Stalled;
        }
        source = err.source();
    }
    RestartReason::Error
}

/// One watch (a kind, in one namespace or everywhere). Every error ends the watch: it is listed
/// again after [`relist_backoff`] (at once for [`must_relist_now`] errors), because a completed
/// list is the only point where a watch is known to be healthy again (kube-runtime's watcher
/// resumes silently). The controller hears `WatchHealth` after every completed list and every
/// error, so `kube_verdict_source_up` and `/readyz` never say healthy for a failing watch.
async fn watch_one<const KIND: usize>(
    w: Watch,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
    pending: Arc<std::sync::Mutex<HashMap<Kind, usize>>>,
    mut restarted: tokio::sync::watch::Receiver<u64>,
) {
    let (api, kind, ns) = (w.api::<KIND>(), w.kind, w.ns);
    let (mut first_list, mut backoff) = (true, relist_backoff());
    let (mut failures_in_a_row, mut reason) = (0u32, RestartReason::Initial);
    loop {
        let stream = prefetched(watcher::watcher(api.clone(), watch_config(w.watch_timeout)));
        futures::pin_mut!(stream);
        let mut delay = None;
        // After a failure, a completed list is not yet health: the watch request that follows
        // may fail at once (a watch-only outage). Healthy once it delivers an event, or runs
        // for RECOVERY_PROOF without an error.
        let mut confirm_at: Option<tokio::time::Instant> = None;
        restarted.mark_unchanged();
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                _ = restart_requested(&mut restarted) => {
                    let error = "listing again: the API server answers again after an outage";
                    let health = SourceEvent::WatchHealth {
                        kind,
                        namespace: ns.clone(),
                        error: Some(error.into()),
                    };
                    if tx.send(health).await.is_err() {
                        return;
                    }
                    reason = RestartReason::Recovered;
                    break;
                }
                _ = sleep_until(confirm_at) => {
                    confirm_at = None;
                    failures_in_a_row = 0;
                    backoff = relist_backoff();
                    if tx.send(healthy(kind, &ns)).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let Some(item) = item else { break };
            let ev = match item {
                Ok(ev) => ev,
                Err(e) if first_list && may_judge_without(kind, &e) => {
                    if std::mem::take(&mut first_list) && last_of_kind(&pending, kind) {
                        let _ = tx.send(SourceEvent::Change(Change::Synced(kind))).await;
                    }
                    return;
                }
                Err(e) if kind.is_optional() && is_not_found(&e) => {
                    return api_gone(kind, &ns, &tx).await;
                }
                Err(e) => {
                    failures_in_a_row += 1;
                    reason = restart_reason(&e);
                    delay = Some(if must_relist_now(&e) && failures_in_a_row == 1 {
                        Duration::ZERO
                    } else {
                        backoff.next().unwrap_or(Duration::from_secs(4))
                    });
                    report_error(kind, &ns, &metrics, &tx, e, failures_in_a_row == 1).await;
                    break;
                }
            };
            let listed = matches!(ev, Event::InitDone);
            let delivered = matches!(ev, Event::Apply(_) | Event::Delete(_));
            let change = watch_change(kind, &ns, &metrics, reason, ev);
            if let Some(c) = change
                && tx.send(c).await.is_err()
            {
                return; // the controller is gone: shutting down
            }
            if delivered && confirm_at.take().is_some() {
                failures_in_a_row = 0;
                backoff = relist_backoff();
                if tx.send(healthy(kind, &ns)).await.is_err() {
                    return;
                }
            }
            if listed {
                if failures_in_a_row == 0 {
                    backoff = relist_backoff();
                    if tx.send(healthy(kind, &ns)).await.is_err() {
                        return;
                    }
                } else {
                    confirm_at = Some(tokio::time::Instant::now() + RECOVERY_PROOF);
                }
                if std::mem::take(&mut first_list) && last_of_kind(&pending, kind) {
                    let _ = tx.send(SourceEvent::Change(Change::Synced(kind))).await;
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        // The backoff ends early when the probe sees the API server answer again.
        tokio::select! {
            _ = tokio::time::sleep(delay.unwrap_or(Duration::ZERO)) => {}
            _ = restart_requested(&mut restarted) => {}
        }
    }
}

/// How many watcher events [`prefetched`] reads ahead: a list page (500 items) and a few more.
const PREFETCH: usize = 512;

/// `stream`, driven by its own task up to [`PREFETCH`] items ahead of the consumer, so the next
/// list page is asked for and read while the items of this one are still being projected (list
/// pages come one after the other: kube's watcher asks for the next one only once the last item
/// of this one is taken). The task stops after an error (the consumer lists again, with its
/// backoff) and is aborted when the returned stream is dropped.
fn prefetched<T: Send + 'static, E: Send + 'static>(
    stream: impl futures::Stream<Item = Result<T, E>> + Send + 'static,
) -> impl futures::Stream<Item = Result<T, E>> {
    /// Aborts the driving task when the consumer is gone (it may be waiting on a watch).
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let (tx, rx) = mpsc::channel(PREFETCH);
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    let driver = AbortOnDrop(task.abort_handle());
    futures::stream::unfold((rx, driver), |(mut rx, driver)| async move {
        rx.recv().await.map(|item| (item, (rx, driver)))
    })
}

/// Resolves when every watch must list again; never without a probe (live `check`: the sender
/// is gone).
async fn restart_requested(r: &mut tokio::sync::watch::Receiver<u64>) {
    if r.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Resolves at `at`; never without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending::<()>().await,
    }
}

/// How long a watch relisted after a failure must run without an error (or deliver an event)
/// before it counts as healthy again.
const RECOVERY_PROOF: Duration = Duration::from_secs(2);

fn healthy(kind: Kind, ns: &Option<String>) -> SourceEvent {
    SourceEvent::WatchHealth {
        kind,
        namespace: ns.clone(),
        error: None,
    }
}

/// Counts down the watches of `kind` still listing for the first time; true for the last one.
fn last_of_kind(pending: &std::sync::Mutex<HashMap<Kind, usize>>, kind: Kind) -> bool {
    let mut p = match pending.lock() {
        Ok(p) => p,
        Err(p) => p.into_inner(),
    };
    let n = p.entry(kind).or_default();
    *n = n.saturating_sub(1);
    *n == 0
}

/// The change a watcher event means, counted; or the object it could not read.
fn watch_change<const KIND: usize>(
    kind: Kind,
    ns: &Option<String>,
    metrics: &SourceMetrics,
    reason: RestartReason,
    ev: Event<Projected<KIND>>,
) -> Option<SourceEvent> {
    let resource = kind.resource();
    let count = |r#type| {
        metrics
            .watch_events
            .get_or_create(&WatchEventLabels { resource, r#type })
            .inc();
    };
    match ev {
        Event::Init => {
            metrics
                .watch_restarts
                .get_or_create(&RestartLabels { resource, reason })
                .inc();
            Some(SourceEvent::Change(Change::Relist(kind, ns.clone())))
        }
        Event::InitApply(o) | Event::Apply(o) => {
            count(WatchEventType::Apply);
            match o.into_object() {
                Ok(obj) => Some(SourceEvent::Change(Change::Apply(obj))),
                Err(e) => {
                    tracing::warn!(kind = e.kind, object = %e.name, problem = %e.problem, "skipping object");
                    metrics
                        .skipped_objects
                        .get_or_create(&ResourceLabels { resource })
                        .inc();
                    Some(SourceEvent::Skipped(e))
                }
            }
        }
        Event::InitDone => Some(SourceEvent::Change(Change::RelistDone(kind, ns.clone()))),
        Event::Delete(o) => {
            count(WatchEventType::Delete);
            let m = kube::Resource::meta(&o);
            let key = (
                m.namespace.clone().unwrap_or_default(),
                m.name.clone().unwrap_or_default(),
            );
            Some(SourceEvent::Change(Change::Delete(kind, key)))
        }
    }
}

/// A 403 on the list or the watch request (RBAC without the verb).
/// A 404 on the list or the watch: the API is not served (a CRD deleted).
fn is_not_found(e: &watcher::Error) -> bool {
    matches!(
        e,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            | watcher::Error::WatchFailed(kube::Error::Api(s)) if s.code == 404
    )
}

/// A build object's API went away (its CRD deleted): its objects are forgotten (an empty
/// relist), its watch is healthy (nothing to watch is no failure) and synced; discovery is asked
/// again later (`supervise_optional`).
async fn api_gone(kind: Kind, ns: &Option<String>, tx: &mpsc::Sender<SourceEvent>) {
    for c in [
        Change::Relist(kind, ns.clone()),
        Change::RelistDone(kind, ns.clone()),
        Change::Synced(kind),
    ] {
        let _ = tx.send(SourceEvent::Change(c)).await;
    }
    let _ = tx
        .send(SourceEvent::WatchHealth {
            kind,
            namespace: ns.clone(),
            error: None,
        })
        .await;
}

fn is_forbidden(e: &watcher::Error) -> bool {
    matches!(
        e,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 403
    )
}

/// A watcher error as a person reads it: the step, then the API server's status (code, reason,
/// message) instead of the client's debug dump of it.
fn describe(e: &watcher::Error) -> String {
    let api = |step: &str, s: &kube::core::Status| {
        format!("{step}: HTTP {} {}: {}", s.code, s.reason, s.message)
    };
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s)) => api("list failed", s),
        watcher::Error::WatchStartFailed(kube::Error::Api(s)) => api("watch failed to start", s),
        watcher::Error::WatchFailed(kube::Error::Api(s)) => api("watch failed", s),
        other => other.to_string(),
    }
}

/// True for a 403 on a kind judged without when it cannot be listed (Nodes, build objects);
/// says so once.
fn may_judge_without(kind: Kind, e: &watcher::Error) -> bool {
    let without = (kind == Kind::Node || kind.is_optional()) && is_forbidden(e);
    if without {
        warn_judged_without(kind, e);
    }
    without
}

/// Says once that a kind the account may not list (403 at the first list) is judged without: a
/// namespace-scoped account judges without Nodes, as --no-nodes does, and without the build
/// objects its RBAC does not grant (deploy/build-objects). Only at the first list: access lost
/// later (a binding removed) is a failing watch like any other, unhealthy and retried, never a
/// silent freeze.
fn warn_judged_without(kind: Kind, e: &watcher::Error) {
    if kind == Kind::Node {
        tracing::warn!(error = %e, "Nodes cannot be listed (403); judging without them, as with --no-nodes");
    } else {
        tracing::warn!(resource = kind.resource(), error = %e,
            "build objects cannot be listed (403); judging without them (grant deploy/build-objects)");
    }
}

/// Counts a watcher error, marks the kind forbidden on a 403, and tells the controller this
/// watch is unhealthy until its next completed list.
async fn report_error(
    kind: Kind,
    ns: &Option<String>,
    metrics: &SourceMetrics,
    tx: &mpsc::Sender<SourceEvent>,
    e: watcher::Error,
    first: bool,
) {
    let resource = kind.resource();
    let class = match &e {
        watcher::Error::InitialListFailed(_) => SourceErrorStep::List,
        watcher::Error::WatchStartFailed(_) => SourceErrorStep::WatchStart,
        watcher::Error::WatchError(_) => SourceErrorStep::WatchError,
        watcher::Error::WatchFailed(_) => SourceErrorStep::Watch,
        watcher::Error::NoResourceVersion => SourceErrorStep::NoResourceVersion,
    };
    metrics
        .source_errors
        .get_or_create(&SourceErrorLabels {
            resource,
            error: class,
        })
        .inc();
    if is_forbidden(&e) {
        let _ = tx.send(SourceEvent::Change(Change::Forbidden(kind))).await;
    }
    // One line per state change: the first failure of a run is a warning, the retries are
    // debug (the health metrics and /readyz say the rest).
    if first {
        tracing::warn!(resource = %resource, namespace = ns.as_deref().unwrap_or(""), error = %e,
            "watch failed; listing again until it recovers");
    } else {
        tracing::debug!(resource = %resource, namespace = ns.as_deref().unwrap_or(""), error = %e,
            "watch failed again; listing again");
    }
    let _ = tx
        .send(SourceEvent::WatchHealth {
            kind,
            namespace: ns.clone(),
            error: Some(describe(&e)),
        })
        .await;
}

/// How long the `/version` probe may take: a black-holed link (connections open, no byte passes)
/// is down after this, not after the client's read timeout.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes `GET /version` every `interval` (each try bounded by [`PROBE_TIMEOUT`]): a watch on a
/// black-holed link hangs silently until its idle timeout, so only a probe notices it soon.
/// When the probe answers again after failing, every watch is listed again
/// ([`RestartWatches`]).
pub fn probe(
    client: Client,
    interval: Duration,
    tx: mpsc::Sender<SourceEvent>,
    watches: RestartWatches,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        let mut was_down = false;
        loop {
            tick.tick().await;
            let ev = match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
                Ok(Ok(_)) => SourceEvent::Up,
                Ok(Err(e)) => SourceEvent::Down {
                    what: "version".into(),
                    error: e.to_string(),
                },
                Err(_) => SourceEvent::Down {
                    what: "version".into(),
                    error: format!("no answer within {}s", PROBE_TIMEOUT.as_secs()),
                },
            };
            let down = matches!(ev, SourceEvent::Down { .. });
            if was_down && !down {
                tracing::info!("the API server answers again; listing every resource again");
                watches.restart_all();
            }
            if let (false, SourceEvent::Down { error, .. }) = (was_down, &ev) {
                tracing::warn!(%error, "the API server does not answer its version probe");
            }
            was_down = down;
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    const POD: usize = 1;

    /// A page decodes item by item: a malformed pod is its own error, named, and the page
    /// (and its well-formed pods) still decodes.
    #[test]
    fn a_page_decodes_into_projections_and_isolates_a_malformed_item() {
        let page = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"9"},"items":[
            {"metadata":{"name":"a","namespace":"shop","resourceVersion":"7"},"spec":{"containers":[{"name":"c","image":"x"}]}},
            {"metadata":{"name":"b","namespace":"shop","resourceVersion":"8"},"spec":{"containers":"not-a-list"}}
        ]}"#;
        let list: kube::core::ObjectList<Projected<POD>> = serde_json::from_str(page).unwrap();
        assert_eq!(WATCHED[POD], Kind::Pod);
        let [a, b] = &list.items[..] else {
            panic!("two items")
        };
        assert_eq!(a.meta().resource_version.as_deref(), Some("7"));
        assert!(matches!(a.clone().into_object(), Ok(Object::Pod(p)) if p.meta.name == "a"));
        assert_eq!(b.meta().resource_version.as_deref(), Some("8"));
        let e = b.clone().into_object().unwrap_err();
        assert_eq!(e.name, "shop/b");
        assert!(e.problem.contains("malformed"), "{}", e.problem);
    }

    /// The prefetching task reads ahead of its consumer, in order; it stops after an error
    /// (the consumer lists again with its backoff, so nothing past the error is read), and
    /// it is aborted when the consumer drops the stream (even while it waits on the source).
    #[tokio::test]
    async fn prefetched_reads_ahead_in_order_stops_after_an_error_and_ends_with_its_consumer() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let read = Arc::new(AtomicUsize::new(0));
        let counted = read.clone();
        let source = futures::stream::iter([Ok(1), Ok(2), Err("gone"), Ok(3)]).inspect(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let items: Vec<Result<i32, &str>> = prefetched(source).collect().await;
        assert_eq!(items, [Ok(1), Ok(2), Err("gone")]);
        assert_eq!(
            read.load(Ordering::SeqCst),
            3,
            "nothing is read past the error"
        );

        // Read ahead: three items are taken from the source before the consumer asks for one.
        let read = Arc::new(AtomicUsize::new(0));
        let counted = read.clone();
        let source = futures::stream::iter([Ok::<_, ()>(1), Ok(2), Ok(3)])
            .inspect(move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
            })
            .chain(futures::stream::pending());
        let (dropped_tx, dropped) = tokio::sync::oneshot::channel::<()>();
        // Dropped with the source: tells when the driving task is gone.
        let source = source.map(move |i| {
            let _ = &dropped_tx;
            i
        });
        let mut s = Box::pin(prefetched(source));
        tokio::time::timeout(Duration::from_secs(5), async {
            while read.load(Ordering::SeqCst) < 3 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the task reads ahead");
        assert_eq!(s.next().await, Some(Ok(1)));
        drop(s);
        tokio::time::timeout(Duration::from_secs(5), dropped)
            .await
            .expect("the task waiting on the source is aborted with its consumer")
            .unwrap_err();
    }

    /// Watch lines as the API server writes them (`type` first) decode into projections; so do
    /// deletions, which name the object.
    #[test]
    fn watch_events_decode_into_projections() {
        let line = r#"{"type":"DELETED","object":{"metadata":{"name":"a","namespace":"shop","resourceVersion":"12"},"spec":{"containers":[]}}}"#;
        let ev: kube::core::WatchEvent<Projected<POD>> = serde_json::from_str(line).unwrap();
        let kube::core::WatchEvent::Deleted(o) = ev else {
            panic!("a deletion")
        };
        assert_eq!(o.meta().name.as_deref(), Some("a"));
        assert_eq!(o.meta().namespace.as_deref(), Some("shop"));
        assert_eq!(
            kube::ResourceExt::resource_version(&o).as_deref(),
            Some("12")
        );
    }
}
