//! The wiring: the only module that names sources and sinks. It turns a parsed command line into
//! configuration, starts the sources, drives the one [`controller::Controller`] loop, and hands
//! what it publishes to the sinks. Exit codes: configuration errors 2, run errors 1, and for
//! `check` the verdicts' code (DESIGN §3).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use jiff::Timestamp;

use crate::cli::{Cli, Command, OutputFormat};
use crate::config::{CheckConfig, ServeConfig};
use crate::engine::builds::collect_builds;
use crate::engine::verdict::{DeploymentVerdict, Policy, judge};
use crate::engine::view::{ClusterView, DeploymentInfo, Kind};
use crate::sources::{dump, live};

pub mod check;
pub mod controller;
pub mod serve;

/// Why a command could not do its job (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    Live(#[from] live::LiveError),
    /// The cluster could not be listed in time.
    #[error("the cluster was not listed within {timeout}: still listing {kinds}{last_error}")]
    SyncTimeout {
        timeout: String,
        kinds: String,
        last_error: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The listen address cannot be bound (or the server failed).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Runs a parsed command line to its exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => {
            let cfg = match CheckConfig::from_args(*args) {
                Ok(c) => c,
                Err(e) => return fail(2, &e),
            };
            let report = match &cfg.dump {
                Some(dir) => check::check_dump(&cfg, dir),
                None => runtime().and_then(|rt| rt.block_on(check::check_live(&cfg))),
            };
            match report {
                Ok(report) => {
                    let out = match cfg.output {
                        OutputFormat::Json => report.to_json() + "\n",
                        OutputFormat::Text => report.to_text(cfg.color, cfg.verbose),
                    };
                    // A closed pipe (`| head`) is not an error worth a panic.
                    let _ = std::io::stdout().lock().write_all(out.as_bytes());
                    ExitCode::from(report.exit_code() as u8)
                }
                Err(e) => fail(1, &e),
            }
        }
        Command::Serve(args) => {
            let cfg = match ServeConfig::from_args(*args) {
                Ok(c) => c,
                Err(e) => return fail(2, &e),
            };
            match runtime().and_then(|rt| rt.block_on(serve::serve(cfg))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, &e),
            }
        }
    }
}

fn fail(code: u8, e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("kube-verdict: {e}");
    ExitCode::from(code)
}

/// The process's one tokio runtime (live `check` and `serve`; a dump needs none).
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// A dump judged once: what `check --dump` prints and `serve --dump` serves.
#[derive(Debug)]
pub struct DumpVerdicts {
    /// The time judged at: `--now`, else the newest timestamp in the dump.
    pub now: Timestamp,
    /// The verdicts of the Deployments `keep` selected, in (namespace, name) order.
    pub verdicts: Vec<DeploymentVerdict>,
    /// Objects held, by kind.
    pub counts: Vec<(Kind, usize)>,
    /// Problems met reading the dump, each naming its file or object.
    pub warnings: Vec<String>,
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
    let now = now
        .or(view.newest_timestamp())
        .ok_or_else(|| Error::NoTime(dir.display().to_string()))?;
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
    })
}
