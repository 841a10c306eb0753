//! The wiring: the only module that names sources and sinks. It turns a parsed command line into
//! configuration, starts the sources, drives the one [`controller::Controller`] loop, and hands
//! what it publishes to the sinks. Exit codes: configuration errors 2, run errors 1, and for
//! `check` the verdicts' code (DESIGN §3).

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Cli, Command, OutputFormat};
use crate::config::{CheckConfig, ServeConfig};
use crate::sources::live;

pub mod check;
pub mod controller;
pub mod dump;
pub mod error;
pub mod serve;

pub use error::Error;

/// Runs a parsed command line to its exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => {
            let mut cfg = match CheckConfig::from_args(*args) {
                Ok(c) => c,
                Err(e) => return fail(2, &e),
            };
            let report = match cfg.dump.clone() {
                Some(dir) => check::check_dump(&cfg, &dir),
                None => runtime().and_then(|rt| {
                    rt.block_on(async {
                        let c = live::client(&cfg.kube, cfg.watch_timeout).await?;
                        live::reachable(&c).await?;
                        cfg.resolve_scope(&c.namespace);
                        check::check_live(&cfg, c.client).await
                    })
                }),
            };
            match report {
                Ok(report) => {
                    let out = match cfg.output {
                        OutputFormat::Json => report.to_json() + "\n",
                        OutputFormat::Text => report.to_text(cfg.color, cfg.verbose),
                    };
                    // A closed pipe (`| head`) is not an error worth a panic.
                    let _ = std::io::stdout().lock().write_all(out.as_bytes());
                    if report.deployments.is_empty() {
                        eprintln!("kube-verdict: {}", check::nothing_judged(&cfg));
                    } else {
                        for w in check::empty_namespaces(&cfg, &report.deployments) {
                            eprintln!("kube-verdict: warning: {w}");
                        }
                    }
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
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "kube-verdict", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            use clap::CommandFactory;
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                // `| head`: a closed pipe is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
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
