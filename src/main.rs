//! Parse the CLI, initialise tracing, dispatch. Nothing else.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kube_verdict::cli::{Cli, Command, OutputFormat};
use kube_verdict::config::CheckConfig;
use kube_verdict::serve::ServeConfig;

/// With `KUBE_VERDICT_PEAK_RSS=1`, prints the process's peak resident memory (VmHWM) to stderr
/// at exit: the figure `bench/check_dump.py` reports. A parent's `wait4` cannot give it, because
/// the high-water mark of the forking process leaks into the child's.
fn report_peak_rss() {
    if std::env::var_os("KUBE_VERDICT_PEAK_RSS").is_none() {
        return;
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
    {
        eprintln!(
            "peak_rss_kib={}",
            line.trim_start_matches("VmHWM:")
                .trim()
                .trim_end_matches(" kB")
        );
    }
}

fn main() -> ExitCode {
    let code = run();
    report_peak_rss();
    code
}

/// `serve` logs at info by default (it is a service); `check` only errors (it prints a report).
fn default_log_filter() -> &'static str {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        "info"
    } else {
        "error"
    }
}

fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBE_VERDICT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log_filter())),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => {
            let cfg = match CheckConfig::from_args(*args) {
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
        Command::Serve(args) => {
            let cfg = match ServeConfig::from_args(*args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("kube-verdict: {e}");
                    return ExitCode::from(2);
                }
            };
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("kube-verdict: cannot start the async runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            match rt.block_on(kube_verdict::serve::serve(cfg)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kube-verdict: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
