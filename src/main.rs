//! Parse the CLI, initialise tracing, dispatch. Nothing else.

use std::process::ExitCode;

use clap::Parser;
use kube_verdict::cli::{Cli, Command};

/// jemalloc rather than glibc's malloc: `serve` decodes whole list pages at every relist and
/// frees them; glibc's arenas kept those pages (RSS +49 % over a 10-minute soak with a flat live
/// heap), jemalloc gives them back (docs/design.md, "Libraries"). Without the `jemalloc` feature
/// (`--no-default-features`), glibc's malloc: for heaptrack, which sees only malloc.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (`_RJEM_MALLOC_CONF` in the environment overrides
/// them): one arena (the controller allocates on one thread at a time; each arena keeps its own
/// free pages), and freed pages given back at once instead of after a decay time (serve at
/// 10,000 pods: 40.5 MiB steady RSS with a decay of 200 ms or 1 s, 39.1 MiB with none; the
/// CPU to be ready within the run-to-run noise; BENCHMARKS.md). The background thread purges
/// what a burst leaves. A C string: jemalloc reads a `const char *`.
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &u8 =
    &b"narenas:1,background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0\0"[0];

fn main() -> ExitCode {
    let cli = Cli::parse();
    kube_verdict::telemetry::init(matches!(cli.command, Command::Serve(_)));
    let code = kube_verdict::app::run(cli);
    kube_verdict::telemetry::report_peak_rss();
    code
}
