//! Parse the CLI, initialise tracing, dispatch. Nothing else.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kube_verdict::cli::{Cli, Command, OutputFormat};
use kube_verdict::config::CheckConfig;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBE_VERDICT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => {
            let cfg = match CheckConfig::from_args(args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("kube-verdict: {e}");
                    return ExitCode::from(2);
                }
            };
            match kube_verdict::run::check(&cfg) {
                Ok(report) => {
                    let out = match cfg.output {
                        OutputFormat::Json => report.to_json() + "\n",
                        OutputFormat::Text => report.to_text(cfg.color, cfg.verbose),
                    };
                    let mut stdout = std::io::stdout().lock();
                    // A closed pipe (`| head`) is not an error worth a panic.
                    let _ = stdout.write_all(out.as_bytes());
                    ExitCode::from(report.exit_code() as u8)
                }
                Err(e) => {
                    eprintln!("kube-verdict: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
