//! The one dump path of `check --dump` and `serve --dump`: read the dump into a view, judge it
//! once at its own time.

use std::path::Path;

use jiff::Timestamp;

use super::error::Error;
use crate::engine::builds::collect_builds;
use crate::engine::verdict::{DeploymentVerdict, Policy, judge};
use crate::engine::view::{ClusterView, DeploymentInfo, Kind};
use crate::sources::dump;

/// A dump judged once: what `check --dump` prints and `serve --dump` serves.
#[derive(Debug)]
pub struct DumpVerdicts {
    /// The time judged at: `--now`, else the newest timestamp in the dump.
    pub now: Timestamp,
    /// The verdicts of the Deployments `keep` selected, in (namespace, name) order.
    pub verdicts: Vec<DeploymentVerdict>,
    /// Objects held, by kind.
    pub counts: Vec<(Kind, usize)>,
    /// Problems met reading the dump, each naming its file or object (the first 1,000).
    pub warnings: Vec<String>,
    /// Problems beyond those, counted.
    pub warnings_omitted: usize,
    /// Objects of a kind kube-verdict reads skipped because they did not project, by kind.
    pub skipped: Vec<(Kind, usize)>,
}

/// Reads a dump and judges the Deployments `keep` selects: the one dump path of `check` and
/// `serve`.
pub fn judge_dump(
    dir: &Path,
    now: Option<Timestamp>,
    policy: &Policy,
    keep: impl Fn(&DeploymentInfo) -> bool,
) -> Result<DumpVerdicts, Error> {
    let started = std::time::Instant::now();
    let mut view = ClusterView::new();
    let stats = dump::load(dir, &mut |c| {
        view.apply(c);
    })?;
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
    if stats.warnings_more > 0 {
        tracing::warn!(
            omitted = stats.warnings_more,
            "{} more warnings about the dump, counted but not named",
            stats.warnings_more
        );
    }
    let now = match now.or(view.newest_timestamp()) {
        Some(t) => t,
        // Nothing to judge (an empty dump): no time is needed, and `check` says so with exit 3.
        None if !view.deployments().any(&keep) => Timestamp::now(),
        None => return Err(Error::NoTime(dir.display().to_string())),
    };
    let builds = collect_builds(&view);
    let verdicts: Vec<DeploymentVerdict> = view
        .deployments()
        .filter(|d| keep(d))
        .map(|d| judge(&view, &builds, d, policy, now))
        .collect();
    tracing::info!(
        deployments = verdicts.len(),
        builds = builds.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "verdicts judged"
    );
    Ok(DumpVerdicts {
        now,
        verdicts,
        counts: view.counts(),
        warnings: stats.warnings,
        warnings_omitted: stats.warnings_more,
        skipped: stats.skipped_by_kind.into_iter().collect(),
    })
}
