//! `serve`: the exporter. Wires a source (live watchers, or a dump) to the engine loop and the
//! engine loop to HTTP and metrics.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::engine::builds::collect_builds;
use crate::engine::verdict::{Policy, judge};
use crate::engine::view::ClusterView;
use crate::live_engine::{Clock, Dirty, LiveEngine, SystemClock};
use crate::sinks::{http, metrics};
use crate::sources::{dump, live};
use crate::state::Shared;

/// Configuration of `serve`.
#[derive(Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub dump: Option<PathBuf>,
    pub now: Option<Timestamp>,
    pub namespaces: Vec<String>,
    pub policy: Policy,
    /// How often every verdict is recomputed even without changes (time-based transitions).
    pub recheck_interval: Duration,
    pub log_concurrency: usize,
    /// Watch Nodes (false for namespace-scoped RBAC).
    pub watch_nodes: bool,
    /// The report endpoints (token, label names, body limit).
    pub reports: http::ReportEndpoints,
    /// How long after a platform failure report the cluster may still contradict it.
    pub report_window: jiff::SignedDuration,
    /// Poll Alertmanager for platform alerts.
    pub alertmanager: Option<crate::sources::alertmanager::AlertmanagerPoll>,
}

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Dump(#[from] dump::DumpError),
    #[error(transparent)]
    Live(#[from] live::LiveError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    NoTime(String),
}

/// Runs until SIGTERM or Ctrl-C.
pub async fn serve(cfg: ServeConfig) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| ServeError::Listen {
            addr: cfg.listen,
            source: e,
        })?;
    let shared = Arc::new(Shared::new(if cfg.dump.is_some() {
        "dump"
    } else {
        "api-server"
    }));
    shared.set_report_window(cfg.report_window);
    let registry = metrics::registry(shared.clone());
    if let Some(am) = &cfg.alertmanager {
        crate::sources::alertmanager::start(am.clone(), shared.clone());
    }

    match &cfg.dump {
        Some(dir) => {
            let mut view = ClusterView::new();
            let stats = dump::load(dir, &mut |c| view.apply(c))?;
            let now = cfg.now.or(view.newest_timestamp()).ok_or_else(|| {
                ServeError::NoTime(format!(
                    "{}: the dump holds no timestamps; pass --now",
                    dir.display()
                ))
            })?;
            let builds = collect_builds(&view);
            let verdicts = view
                .deployments()
                .filter(|d| cfg.namespaces.is_empty() || cfg.namespaces.contains(&d.meta.namespace))
                .map(|d| {
                    (
                        d.meta.key(),
                        Arc::new(judge(&view, &builds, d, &cfg.policy, now)),
                    )
                })
                .collect();
            shared.update(|s| {
                s.now = now;
                s.synced = true;
                s.unsynced = vec![];
                s.verdicts = verdicts;
                s.object_counts = view.counts();
                s.warnings = stats.warnings;
            });
            tracing::info!(dump = %dir.display(), "serving the verdicts of a dump");
        }
        None => {
            let client = live::client().await?;
            let (tx, rx) = mpsc::channel(8192);
            live::start(
                client.clone(),
                &cfg.namespaces,
                cfg.watch_nodes,
                shared.metrics.clone(),
                tx.clone(),
            );
            live::probe(client.clone(), cfg.recheck_interval, tx.clone());
            let fetcher =
                live::LogFetcher::new(client, cfg.log_concurrency, shared.metrics.clone(), tx);
            let engine = LiveEngine::new(cfg.policy.clone(), shared.clone(), Some(fetcher));
            tokio::spawn(engine_loop(engine, rx, cfg.recheck_interval, SystemClock));
        }
    }

    tracing::info!(listen = %cfg.listen, "serving /metrics, /healthz, /readyz, /api/v1/verdicts");
    axum::serve(
        listener,
        http::router(shared, registry, cfg.reports.clone()),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| ServeError::Listen {
        addr: cfg.listen,
        source: e,
    })?;
    tracing::info!("shut down");
    Ok(())
}

/// Applies source events in batches and recomputes after each batch; recomputes everything on
/// a timer. Returns when the source side is gone.
pub async fn engine_loop(
    mut engine: LiveEngine,
    mut rx: mpsc::Receiver<live::SourceEvent>,
    recheck: Duration,
    clock: impl Clock,
) {
    let mut tick = tokio::time::interval(recheck);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut dirty = Dirty::default();
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { return };
                engine.apply(ev, &mut dirty);
                // Drain what is already queued, so a burst costs one recompute.
                while let Ok(ev) = rx.try_recv() {
                    engine.apply(ev, &mut dirty);
                }
            }
            _ = tick.tick() => dirty = Dirty::all(),
        }
        if !dirty.is_empty() {
            let now = clock.now();
            engine.recompute(now, dirty);
            engine.shared().judge_reports(now);
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
