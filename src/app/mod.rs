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
pub use serve::Hooks;

/// Runs a parsed command line to its exit code.
pub fn run(cli: Cli) -> ExitCode {
    run_with(cli, Hooks::default())
}

/// [`run`], calling `hooks` at their points.
pub fn run_with(cli: Cli, hooks: Hooks) -> ExitCode {
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
            match runtime().and_then(|rt| rt.block_on(serve::serve(cfg, hooks))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, &e),
            }
        }
        Command::Completions { shell } => {
            let _ = std::io::stdout()
                .lock()
                .write_all(completions(shell).as_bytes());
            ExitCode::SUCCESS
        }
        Command::Man { command } => {
            use clap::CommandFactory;
            let top = Cli::command();
            let page = match command.as_deref() {
                Some("check") => top
                    .find_subcommand("check")
                    .cloned()
                    .unwrap_or_default()
                    .name("kube-verdict-check"),
                Some("serve") => top
                    .find_subcommand("serve")
                    .cloned()
                    .unwrap_or_default()
                    .name("kube-verdict-serve"),
                Some(other) => return fail(2, &format!("no subcommand {other}")),
                None => top,
            };
            match clap_mangen::Man::new(page).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                // `| head`: a closed pipe is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => fail(1, &e),
            }
        }
    }
}

/// A completion script for `kube-verdict`. clap_complete's bash script mislabels the subcommand
/// states of a name with a hyphen (clap-rs/clap#6421: no flag after `check` ever completes), so
/// the script is generated for `kube_verdict` and registered for both names.
fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    if shell == clap_complete::Shell::Bash {
        clap_complete::generate(shell, &mut cmd, "kube_verdict", &mut out);
        let script = String::from_utf8_lossy(&out).into_owned();
        return script
            .lines()
            .map(
                |l| match l.trim_start().starts_with("complete -F _kube_verdict") {
                    true => format!(
                        "{} kube-verdict kubectl-verdict\n",
                        l.trim_end_matches(" kube_verdict")
                    ),
                    false => format!("{l}\n"),
                },
            )
            .collect();
    }
    clap_complete::generate(shell, &mut cmd, "kube-verdict", &mut out);
    String::from_utf8_lossy(&out).into_owned()
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
