//! `serve`: the exporter. Starts the sources (live watchers and the Alertmanager poller, or a
//! dump judged once), the controller loop, and the HTTP server with its metrics registry.

use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::mpsc;

use super::controller::{Controller, ControllerMetrics, RegistryLookup, SystemClock};
use super::dump::judge_dump;
use super::error::Error;
use crate::config::ServeConfig;
use crate::sinks::http::{self, RequestMetrics};
use crate::sinks::metrics;
use crate::sinks::published::{Published, SourceKind};
use crate::sinks::server::{self, ConnectionMetrics};
use crate::sources::logs::LogFetcher;
use crate::sources::{SourceEvent, SourceMetrics, alertmanager, live};

/// What the binary does at points of a run only it can act on: the allocator is chosen in
/// `main.rs`, and this library has no unsafe code to tune it.
#[derive(Debug, Clone, Copy)]
pub struct Hooks {
    /// Called once by `serve` (live), after the first complete list of every kind is judged
    /// and published: the sync's transient memory (list pages) is free by then.
    pub synced: fn(),
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks { synced: || {} }
    }
}

/// Runs until SIGTERM or Ctrl-C; calls `hooks.synced` once the first sync is judged (live).
pub async fn serve(cfg: ServeConfig, hooks: Hooks) -> Result<(), Error> {
    let listen_error = |source| Error::Listen {
        addr: cfg.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(listen_error)?;
    let source = match cfg.dump {
        Some(_) => SourceKind::Dump,
        None => SourceKind::ApiServer,
    };
    let published = Arc::new(Published::new(
        source,
        cfg.report_window,
        cfg.platforms.clone(),
    ));
    // One registry, each component registering what it counts (in the order of the goldens).
    let mut registry = Registry::default();
    let source_metrics = SourceMetrics::register(&mut registry);
    let controller_metrics = ControllerMetrics::register(&mut registry);
    published.report_metrics.register(&mut registry);
    let requests = RequestMetrics::register(&mut registry);
    let connections = ConnectionMetrics::register(&mut registry);
    metrics::register_state(&mut registry, published.clone());

    let (tx, rx) = mpsc::channel(8192);
    if let Some(am) = &cfg.alertmanager {
        alertmanager::start(am.clone(), source_metrics.clone(), tx.clone());
    }
    let mut fetcher = None;
    let mut registry_lookup = None;
    match &cfg.dump {
        Some(dir) => {
            let namespaces = &cfg.namespaces;
            let judged = judge_dump(dir, cfg.now, &cfg.policy, |d| {
                namespaces.is_empty() || namespaces.contains(&d.meta.namespace)
            })?;
            published.update(|s| {
                s.now = judged.now;
                s.synced = true;
                s.unsynced = vec![];
                s.verdicts = judged
                    .verdicts
                    .into_iter()
                    .map(|v| ((v.namespace.clone(), v.name.clone()), Arc::new(v)))
                    .collect();
                s.object_counts = judged.counts;
                s.warnings = judged.warnings;
                s.warnings_omitted = judged.warnings_omitted;
            });
            for (kind, n) in judged.skipped {
                let resource = kind.resource();
                source_metrics
                    .skipped_objects
                    .get_or_create(&crate::sources::ResourceLabels { resource })
                    .inc_by(n as u64);
            }
            tracing::info!(dump = %dir.display(), "serving the verdicts of a dump");
        }
        None => {
            let client = live::client(&cfg.kube, cfg.watch_timeout).await?.client;
            let watches = live::start(
                client.clone(),
                &cfg.namespaces,
                cfg.watch_nodes,
                cfg.watch_timeout,
                source_metrics.clone(),
                tx.clone(),
            );
            live::probe(client.clone(), cfg.recheck_interval, tx.clone(), watches);
            registry_lookup =
                RegistryLookup::from_config(cfg.registry.as_ref(), &client, &source_metrics, &tx);
            fetcher = Some(LogFetcher::new(
                client,
                cfg.log_concurrency,
                source_metrics,
                tx.clone(),
            ));
        }
    }
    drop(tx);
    if cfg.dump.is_none() {
        let controller = Controller::new(
            cfg.policy.clone(),
            published.clone(),
            fetcher,
            controller_metrics,
            Arc::new(SystemClock),
        )
        .with_registry(registry_lookup);
        tokio::spawn(run_controller(controller, rx, cfg.recheck_interval, hooks));
    } else {
        tokio::spawn(dump_reports(published.clone(), rx));
    }

    tracing::info!(listen = %cfg.listen, "serving /metrics, /healthz, /readyz, /api/v1/verdicts");
    let router = http::router(published, registry, requests, cfg.reports.clone());
    server::serve(listener, router, cfg.http, connections, shutdown_signal()).await;
    tracing::info!("shut down");
    Ok(())
}

/// The controller loop, until the sources are gone; `hooks.synced` once every kind is listed
/// and judged.
async fn run_controller(
    mut controller: Controller,
    mut rx: mpsc::Receiver<SourceEvent>,
    recheck: std::time::Duration,
    hooks: Hooks,
) {
    let mut synced = Some(hooks.synced);
    let settled = |c: &Controller| {
        if c.view().is_synced()
            && let Some(hook) = synced.take()
        {
            hook();
        }
        false
    };
    controller.run_until(&mut rx, recheck, settled).await;
}

/// With a dump, which never changes, only platform reports arrive: each is judged on the dump's
/// verdicts at the dump's time (as the HTTP endpoints do), when it arrives.
async fn dump_reports(published: Arc<Published>, mut rx: mpsc::Receiver<SourceEvent>) {
    while let Some(ev) = rx.recv().await {
        if let SourceEvent::Report(r) = ev
            && let Err(e) = published.submit_report(r, published.snapshot().now)
        {
            tracing::warn!("platform report rejected: {e}");
        }
    }
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
