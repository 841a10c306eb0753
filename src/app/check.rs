//! `check`: judge once and return the report, on a dump or on the live cluster; with `--wait`,
//! keep judging until every target is terminal. Live, it drives the same controller loop as
//! `serve`, with a stop predicate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::controller::{Controller, ControllerMetrics, RegistryLookup, SystemClock};
use super::dump::judge_dump;
use super::error::Error;
use crate::config::{CheckConfig, Scope};
use crate::engine::verdict::human;
use crate::sinks::published::{Published, SourceKind};
use crate::sinks::report::Report;
use crate::sources::logs::LogFetcher;
use crate::sources::{SourceMetrics, live};

/// How long a live `check` without `--timeout` waits for the first list (and build logs).
const DEFAULT_SYNC_TIMEOUT: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// How often a live `check` re-judges without changes (time moves verdicts: `--blocked-after`).
const CHECK_RECHECK: Duration = Duration::from_secs(1);

fn selected(cfg: &CheckConfig, namespace: &str, name: &str) -> bool {
    cfg.scope.contains(namespace)
        && (cfg.targets.is_empty() || cfg.targets.iter().any(|t| t == name))
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::All | Scope::Context => "in any namespace".to_string(),
        Scope::Namespaces(n) => format!("in namespace {}", n.join(", ")),
    }
}

/// A warning for each namespace given with `-n` in which no Deployment was judged: a typo in a
/// list must not pass silently because another namespace of the list had Deployments.
pub fn empty_namespaces(
    cfg: &CheckConfig,
    judged: &[crate::engine::verdict::DeploymentVerdict],
) -> Vec<String> {
    let Scope::Namespaces(list) = &cfg.scope else {
        return Vec::new();
    };
    list.iter()
        .filter(|ns| !judged.iter().any(|d| &d.namespace == *ns))
        .map(|ns| format!("namespace {ns}: no Deployment found (check -n)"))
        .collect()
}

/// The stderr line of a `check` that judged nothing (exit 3): which scope was searched where.
pub fn nothing_judged(cfg: &CheckConfig) -> String {
    let source = match &cfg.dump {
        Some(dir) => format!("of the dump {}", dir.display()),
        None => "of the cluster".to_string(),
    };
    let targets = if cfg.targets.is_empty() {
        String::new()
    } else {
        format!(" named {}", cfg.targets.join(", "))
    };
    format!(
        "no Deployment{targets} {} {source}: nothing was judged (exit 3)",
        scope_text(&cfg.scope)
    )
}

/// `check --dump`: reads the dump and judges the Deployments in scope.
pub fn check_dump(cfg: &CheckConfig, dir: &Path) -> Result<Report, Error> {
    let mut judged = judge_dump(dir, cfg.now, &cfg.policy, |d| {
        selected(cfg, &d.meta.namespace, &d.meta.name)
    })?;
    let unreadable: usize = judged.skipped.iter().map(|(_, n)| n).sum();
    if judged.counts.iter().all(|(_, n)| *n == 0) && unreadable > 0 {
        // Objects of the kinds it reads are there, but none could be read: say that, not
        // "holds no objects" (found by review).
        judged.warnings.insert(
            0,
            format!(
                "{}: nothing to judge: {unreadable} objects of the kinds kube-verdict reads could not be read (see the warnings below)",
                dir.display()
            ),
        );
    } else if judged.counts.iter().all(|(_, n)| *n == 0) {
        judged.warnings.insert(0, if dir.is_dir() {
            format!(
                "{}: holds no Kubernetes objects; make a dump with `kubectl cluster-info dump --all-namespaces --output-directory={}`",
                dir.display(),
                dir.display()
            )
        } else {
            format!(
                "{}: holds no object kube-verdict reads (Deployments, ReplicaSets, Pods, Events, Nodes, Jobs; e.g. `kubectl get deployments,replicasets,pods,events -o json`)",
                dir.display()
            )
        });
    }
    for t in &cfg.targets {
        if !judged.verdicts.iter().any(|d| &d.name == t) {
            return Err(Error::TargetNotFound(format!(
                "{t} not found {} of {}",
                scope_text(&cfg.scope),
                dir.display()
            )));
        }
    }
    // The configuration's and the scope's warnings first: they say what to change, and the
    // text report shows the first 20 of possibly a thousand warnings about the dump's objects.
    let mut warnings: Vec<String> = cfg.warnings.to_vec();
    warnings.extend(empty_namespaces(cfg, &judged.verdicts));
    warnings.append(&mut judged.warnings);
    judged.warnings = warnings;
    Ok(Report {
        now: judged.now,
        deployments: judged.verdicts,
        warnings: judged.warnings,
        warnings_omitted: judged.warnings_omitted,
    })
}

/// `check` against the API server: list and watch like `serve`, judge once everything is listed
/// and the build logs are read; with `--wait`, keep watching until every target is terminal.
pub async fn check_live(cfg: &CheckConfig, client: kube::Client) -> Result<Report, Error> {
    let mut registry = prometheus_client::registry::Registry::default();
    let source_metrics = SourceMetrics::register(&mut registry);
    let published = Arc::new(Published::new(
        SourceKind::ApiServer,
        Default::default(),
        Default::default(),
    ));
    let (tx, mut rx) = mpsc::channel(8192);
    let namespaces = match &cfg.scope {
        Scope::All | Scope::Context => vec![],
        Scope::Namespaces(v) => v.clone(),
    };
    live::start(
        client.clone(),
        &namespaces,
        cfg.watch_nodes,
        cfg.watch_timeout,
        source_metrics.clone(),
        tx.clone(),
    );
    let lookup = RegistryLookup::from_config(cfg.registry.as_ref(), &client, &source_metrics, &tx);
    let fetcher = LogFetcher::new(client, 4, source_metrics, tx);
    let mut controller = Controller::new(
        cfg.policy.clone(),
        published,
        Some(fetcher),
        ControllerMetrics::register(&mut registry),
        Arc::new(SystemClock),
    )
    .with_registry(lookup);
    let timeout = cfg.timeout.unwrap_or(DEFAULT_SYNC_TIMEOUT);
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(timeout.as_secs_f64());
    let done = |c: &Controller| {
        // Never stop on verdicts frozen through a failing watch: they may be stale.
        if !c.view().is_synced()
            || c.logs_in_flight() > 0
            || c.registry_in_flight() > 0
            || c.is_frozen()
        {
            return false;
        }
        let chosen: Vec<_> = c
            .verdicts()
            .filter(|d| selected(cfg, &d.namespace, &d.name))
            .collect();
        let all_found = cfg
            .targets
            .iter()
            .all(|t| chosen.iter().any(|d| &d.name == t));
        !cfg.wait || (all_found && chosen.iter().all(|d| d.verdict.is_terminal()))
    };
    let ended =
        tokio::time::timeout_at(deadline, controller.run_until(&mut rx, CHECK_RECHECK, done)).await;
    if ended.is_err() && !controller.view().is_synced() {
        let kinds: Vec<&str> = controller
            .view()
            .unsynced()
            .iter()
            .map(|k| k.as_str())
            .collect();
        return Err(Error::SyncTimeout {
            timeout: human(timeout),
            kinds: kinds.join(", "),
            last_error: controller
                .source_error()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default(),
        });
    }
    if controller.is_frozen() {
        return Err(Error::Unhealthy(
            controller
                .source_error()
                .unwrap_or_else(|| "a watch is failing".into()),
        ));
    }
    let deployments: Vec<_> = controller
        .verdicts()
        .filter(|d| selected(cfg, &d.namespace, &d.name))
        .map(|d| (**d).clone())
        .collect();
    for t in &cfg.targets {
        if !deployments.iter().any(|d| &d.name == t) {
            return Err(Error::TargetNotFound(format!(
                "{t} not found in the cluster"
            )));
        }
    }
    Ok(Report {
        now: controller.now(),
        warnings: live_warnings(cfg, &deployments, controller.skipped()),
        warnings_omitted: 0,
        deployments,
    })
}

/// The warnings of a live `check`: the configuration's, the objects that could not be read,
/// then the empty namespaces.
fn live_warnings(
    cfg: &CheckConfig,
    deployments: &[crate::engine::verdict::DeploymentVerdict],
    skipped: Vec<String>,
) -> Vec<String> {
    cfg.warnings
        .iter()
        .cloned()
        .chain(skipped)
        .chain(empty_namespaces(cfg, deployments))
        .collect()
}
