//! Logging (tracing to stderr) and the opt-in peak-memory report of the benchmarks.

/// Initialises tracing to stderr. `KUBE_VERDICT_LOG` takes an env-filter; the default is `info`
/// for a service (`serve`) and `error` for `check`, which prints a report instead.
pub fn init(service: bool) {
    // kube's client logs every failed request at error level; kube-verdict logs the state
    // changes itself (one line when a watch starts failing, one when it recovers).
    let default = if service {
        "info,kube_client::client::builder=off"
    } else {
        "error,kube_client::client::builder=off"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBE_VERDICT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .init();
}

/// With `KUBE_VERDICT_PEAK_RSS=1`, prints the process's peak resident memory (VmHWM) to stderr:
/// the figure `benches/check_dump.py` reports. A parent's `wait4` cannot give it, because the
/// high-water mark of the forking process leaks into the child's.
pub fn report_peak_rss() {
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
