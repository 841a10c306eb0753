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

fn main() -> ExitCode {
    let cli = Cli::parse();
    kube_verdict::telemetry::init(matches!(cli.command, Command::Serve(_)));
    let code = kube_verdict::app::run(cli);
    kube_verdict::telemetry::report_peak_rss();
    code
}
