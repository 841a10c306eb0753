//! The live source: kube watchers for Nodes, Pods, Deployments, ReplicaSets, Events and Jobs
//! (all namespaces, or the given ones), turned into the same `Change`s as a dump. Objects are
//! read as `DynamicObject`s and typed one by one, so a malformed object is skipped and counted
//! instead of ending the watch; each is projected at once, so the full object is never kept.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, Pod};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::{ResourceLabels, SourceErrorLabels, SourceEvent, SourceMetrics, WatchEventLabels};
use crate::engine::view::{Change, Kind, Object, ProjectionError};

/// Why the live source could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No kubeconfig and no in-cluster configuration, or an invalid one.
    #[error("cannot configure a Kubernetes client (KUBECONFIG, ~/.kube/config or in-cluster): {0}")]
    Config(String),
}

/// Builds a client the way kubectl would: `KUBECONFIG`/`~/.kube/config`, else in-cluster.
pub async fn client() -> Result<Client, LiveError> {
    Client::try_default()
        .await
        .map_err(|e| LiveError::Config(e.to_string()))
}

fn resource(kind: Kind) -> ApiResource {
    match kind {
        Kind::Node => ApiResource::erase::<Node>(&()),
        Kind::Pod => ApiResource::erase::<Pod>(&()),
        Kind::Deployment => ApiResource::erase::<Deployment>(&()),
        Kind::ReplicaSet => ApiResource::erase::<ReplicaSet>(&()),
        Kind::Event => ApiResource::erase::<CoreEvent>(&()),
        Kind::Job => ApiResource::erase::<Job>(&()),
    }
}

/// Types and projects one object. The error names the object.
pub fn project(kind: Kind, obj: DynamicObject) -> Result<Object, ProjectionError> {
    let name = format!(
        "{}/{}",
        obj.metadata.namespace.clone().unwrap_or_default(),
        obj.metadata.name.clone().unwrap_or_default()
    );
    let value = serde_json::to_value(&obj).map_err(|e| ProjectionError {
        kind: kind.as_str(),
        name: name.clone(),
        problem: e.to_string(),
    })?;
    Object::from_json(kind, false, value).map_err(|mut e| {
        if e.name.is_empty() {
            e.name = name;
        }
        e
    })
}

/// Starts one watcher per kind (and per namespace when namespaces are given; Nodes are
/// cluster-wide). Sends `Synced(kind)` once every watcher of that kind finished its first list.
pub fn start(
    client: Client,
    namespaces: &[String],
    watch_nodes: bool,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
) {
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
    for (kind, ns) in scopes {
        let ar = resource(kind);
        let api: Api<DynamicObject> = match &ns {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        tokio::spawn(watch_one(
            kind,
            ns,
            api,
            metrics.clone(),
            tx.clone(),
            pending.clone(),
        ));
    }
}

async fn watch_one(
    kind: Kind,
    ns: Option<String>,
    api: Api<DynamicObject>,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
    pending: Arc<std::sync::Mutex<HashMap<Kind, usize>>>,
) {
    let resource = kind.resource();
    let mut first_list = true;
    let mut down = false;
    let stream = watcher::watcher(api, watcher::Config::default().page_size(500)).default_backoff();
    futures::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        let change = match item {
            Ok(ev) => {
                if down {
                    down = false;
                    let _ = tx.send(SourceEvent::Up).await;
                }
                match ev {
                    Event::Init => {
                        metrics
                            .watch_restarts
                            .get_or_create(&ResourceLabels { resource })
                            .inc();
                        Some(Change::Relist(kind, ns.clone()))
                    }
                    Event::InitApply(o) | Event::Apply(o) => {
                        metrics
                            .watch_events
                            .get_or_create(&WatchEventLabels {
                                resource,
                                r#type: "apply",
                            })
                            .inc();
                        match project(kind, o) {
                            Ok(obj) => Some(Change::Apply(obj)),
                            Err(e) => {
                                tracing::warn!(kind = e.kind, object = %e.name, problem = %e.problem, "skipping object");
                                metrics
                                    .skipped_objects
                                    .get_or_create(&ResourceLabels { resource })
                                    .inc();
                                None
                            }
                        }
                    }
                    Event::InitDone => {
                        let _ = tx
                            .send(SourceEvent::Change(Change::RelistDone(kind, ns.clone())))
                            .await;
                        if first_list {
                            first_list = false;
                            let last = {
                                let mut p = match pending.lock() {
                                    Ok(p) => p,
                                    Err(p) => p.into_inner(),
                                };
                                let n = p.entry(kind).or_default();
                                *n = n.saturating_sub(1);
                                *n == 0
                            };
                            if last {
                                let _ = tx.send(SourceEvent::Change(Change::Synced(kind))).await;
                            }
                        }
                        None
                    }
                    Event::Delete(o) => {
                        metrics
                            .watch_events
                            .get_or_create(&WatchEventLabels {
                                resource,
                                r#type: "delete",
                            })
                            .inc();
                        let key = (
                            o.metadata.namespace.clone().unwrap_or_default(),
                            o.metadata.name.clone().unwrap_or_default(),
                        );
                        Some(Change::Delete(kind, key))
                    }
                }
            }
            Err(e) => {
                down = true;
                report_error(kind, &metrics, &tx, e).await;
                None
            }
        };
        if let Some(c) = change
            && tx.send(SourceEvent::Change(c)).await.is_err()
        {
            return; // the engine loop is gone: shutting down
        }
    }
}

/// Counts a watcher error, marks the kind forbidden on a 403, and tells the controller the
/// source is down (the watcher retries with backoff).
async fn report_error(
    kind: Kind,
    metrics: &SourceMetrics,
    tx: &mpsc::Sender<SourceEvent>,
    e: watcher::Error,
) {
    let resource = kind.resource();
    let class = match &e {
        watcher::Error::InitialListFailed(_) => "list",
        watcher::Error::WatchStartFailed(_) => "watch_start",
        watcher::Error::WatchError(_) => "watch_error",
        watcher::Error::WatchFailed(_) => "watch",
        watcher::Error::NoResourceVersion => "no_resource_version",
    };
    metrics
        .source_errors
        .get_or_create(&SourceErrorLabels {
            resource,
            error: class,
        })
        .inc();
    let forbidden = matches!(
        &e,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 403
    );
    if forbidden {
        let _ = tx.send(SourceEvent::Change(Change::Forbidden(kind))).await;
    }
    tracing::warn!(resource = %resource, error = %e, "watch failed; retrying with backoff");
    let _ = tx
        .send(SourceEvent::Down {
            what: resource.to_string(),
            error: e.to_string(),
        })
        .await;
}

/// Probes `GET /version` every `interval`: watches that are merely quiet send nothing, so only a
/// probe can tell that an API server which failed is answering again.
pub fn probe(client: Client, interval: std::time::Duration, tx: mpsc::Sender<SourceEvent>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            let ev = match client.apiserver_version().await {
                Ok(_) => SourceEvent::Up,
                Err(e) => SourceEvent::Down {
                    what: "version".into(),
                    error: e.to_string(),
                },
            };
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    });
}
