//! Parse the CLI, initialise tracing, dispatch. Nothing else.

use std::process::ExitCode;

use clap::Parser;
use kube_verdict::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    kube_verdict::telemetry::init(matches!(cli.command, Command::Serve(_)));
    let code = kube_verdict::app::run(cli);
    kube_verdict::telemetry::report_peak_rss();
    code
}
