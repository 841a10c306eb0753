//! The one place that wires sources to the engine and the engine to sinks.

use crate::config::CheckConfig;
use crate::engine::builds::collect_builds;
use crate::engine::verdict::judge;
use crate::engine::view::ClusterView;
use crate::sinks::report::Report;
use crate::sources::dump;

/// Why `check` could not produce a report (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The dump could not be read.
    #[error(transparent)]
    Dump(#[from] dump::DumpError),
    /// No `--now` and no timestamp in the dump to judge at.
    #[error("{0}: the dump holds no timestamps to judge at; pass --now")]
    NoTime(String),
    /// A named target does not exist.
    #[error("deployment {0}")]
    TargetNotFound(String),
    /// The Kubernetes client cannot be configured.
    #[error(transparent)]
    Live(#[from] crate::sources::live::LiveError),
    /// The cluster could not be listed in time.
    #[error("the cluster was not listed within {timeout}: still listing {kinds}{last_error}")]
    SyncTimeout {
        timeout: String,
        kinds: String,
        last_error: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Runs `check` and returns the report: on a dump, or on the live cluster.
pub fn check(cfg: &CheckConfig) -> Result<Report, RunError> {
    let Some(dir) = &cfg.dump else {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(RunError::Runtime)?;
        return rt.block_on(check_live(cfg));
    };
    let started = std::time::Instant::now();
    let mut view = ClusterView::new();
    let stats = dump::load(dir, &mut |c| view.apply(c))?;
    tracing::info!(
        files = stats.files,
        objects = stats.objects,
        logs = stats.log_files,
        skipped = stats.skipped,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dump loaded"
    );
    for w in &stats.warnings {
        tracing::warn!("{w}");
    }
    let now = match cfg.now.or(view.newest_timestamp()) {
        Some(t) => t,
        None => return Err(RunError::NoTime(dir.display().to_string())),
    };
    let builds = collect_builds(&view);
    let mut deployments = Vec::new();
    for d in view.deployments() {
        if !cfg.scope.contains(&d.meta.namespace) {
            continue;
        }
        if !cfg.targets.is_empty() && !cfg.targets.contains(&d.meta.name) {
            continue;
        }
        deployments.push(judge(&view, &builds, d, &cfg.policy, now));
    }
    for t in &cfg.targets {
        if !deployments.iter().any(|d| &d.name == t) {
            let scope = match &cfg.scope {
                crate::config::Scope::All => "in any namespace".to_string(),
                crate::config::Scope::Namespaces(n) => format!("in namespace {}", n.join(", ")),
            };
            return Err(RunError::TargetNotFound(format!(
                "{t} not found {scope} of {}",
                dir.display()
            )));
        }
    }
    tracing::info!(
        deployments = deployments.len(),
        builds = builds.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "verdicts judged"
    );
    Ok(Report {
        now,
        deployments,
        warnings: stats.warnings,
    })
}

/// How long a live `check` without `--wait` waits for the first list (and build logs).
const DEFAULT_SYNC_TIMEOUT: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

fn selected(cfg: &CheckConfig, namespace: &str, name: &str) -> bool {
    cfg.scope.contains(namespace)
        && (cfg.targets.is_empty() || cfg.targets.iter().any(|t| t == name))
}

/// `check` against the API server: list and watch like `serve`, judge once everything is listed
/// and the build logs are read; with `--wait`, keep watching until every target is terminal.
async fn check_live(cfg: &CheckConfig) -> Result<Report, RunError> {
    use std::sync::Arc;
    use tokio::sync::mpsc;

    use crate::live_engine::{Dirty, LiveEngine};
    use crate::sources::live;
    use crate::state::Shared;

    let client = live::client().await?;
    let shared = Arc::new(Shared::new("api-server"));
    let (tx, mut rx) = mpsc::channel(8192);
    let namespaces = match &cfg.scope {
        crate::config::Scope::All => vec![],
        crate::config::Scope::Namespaces(v) => v.clone(),
    };
    live::start(
        client.clone(),
        &namespaces,
        true,
        shared.metrics.clone(),
        tx.clone(),
    );
    let fetcher = live::LogFetcher::new(client, 4, shared.metrics.clone(), tx);
    let mut engine = LiveEngine::new(cfg.policy.clone(), shared, Some(fetcher));
    let timeout = cfg.timeout.unwrap_or(DEFAULT_SYNC_TIMEOUT);
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_secs_f64(timeout.as_secs_f64());
    let mut last_error = String::new();
    let mut last_recompute = tokio::time::Instant::now();
    loop {
        let mut dirty = Dirty::default();
        match tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await {
            Ok(Some(ev)) => {
                if let live::SourceEvent::Down { error, .. } = &ev {
                    last_error = format!(" (last error: {error})");
                }
                engine.apply(ev, &mut dirty);
                while let Ok(ev) = rx.try_recv() {
                    engine.apply(ev, &mut dirty);
                }
            }
            Ok(None) => break,
            Err(_) => {}
        }
        let now_i = tokio::time::Instant::now();
        if engine.view.is_synced() {
            // Time moves verdicts too (--blocked-after): recompute at least every second.
            if !dirty.is_empty() || now_i.duration_since(last_recompute).as_secs() >= 1 {
                engine.recompute(jiff::Timestamp::now(), Dirty::all());
                last_recompute = now_i;
            }
            if engine.logs_in_flight() == 0 {
                let chosen: Vec<_> = engine
                    .verdicts()
                    .filter(|d| selected(cfg, &d.namespace, &d.name))
                    .collect();
                let all_found = cfg
                    .targets
                    .iter()
                    .all(|t| chosen.iter().any(|d| &d.name == t));
                if !cfg.wait || (all_found && chosen.iter().all(|d| d.verdict.is_terminal())) {
                    break;
                }
            }
            if now_i >= deadline {
                break;
            }
        } else if now_i >= deadline {
            let kinds: Vec<&str> = engine.view.unsynced().iter().map(|k| k.as_str()).collect();
            return Err(RunError::SyncTimeout {
                timeout: crate::engine::verdict::human(timeout),
                kinds: kinds.join(", "),
                last_error,
            });
        }
    }
    let deployments: Vec<_> = engine
        .verdicts()
        .filter(|d| selected(cfg, &d.namespace, &d.name))
        .map(|d| (**d).clone())
        .collect();
    for t in &cfg.targets {
        if !deployments.iter().any(|d| &d.name == t) {
            return Err(RunError::TargetNotFound(format!(
                "{t} not found in the cluster"
            )));
        }
    }
    Ok(Report {
        now: jiff::Timestamp::now(),
        deployments,
        warnings: vec![],
    })
}
