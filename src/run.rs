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
    /// Live cluster access is not available yet.
    #[error(
        "reading a live cluster is not available in this version; make a dump with `kubectl cluster-info dump --all-namespaces --output-directory=DIR` and pass --dump DIR"
    )]
    LiveUnavailable,
}

/// Runs `check` and returns the report.
pub fn check(cfg: &CheckConfig) -> Result<Report, RunError> {
    let Some(dir) = &cfg.dump else {
        return Err(RunError::LiveUnavailable);
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
