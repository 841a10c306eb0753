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
/// free pages), and freed pages given back within a second by jemalloc's background thread
/// instead of being kept for ten seconds or until the next allocation. After its first sync,
/// `serve` gives them back at once ([`return_freed_pages_at_once`]). A C string: jemalloc reads
/// a `const char *`.
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &u8 =
    &b"narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

/// For `serve`, which runs for weeks: once its first sync is judged, freed pages go back to the
/// system at once instead of after a decay time, and those kept so far go now (at 10,000 pods:
/// 40.0 MiB steady RSS with a decay of 1 s, 39.1 MiB with none; BENCHMARKS.md). Not before:
/// the sync allocates and frees a list page's worth at every page, and with no decay every page
/// given back was faulted in again (CPU to be ready 0.54 s instead of 0.42 s at 10,000 pods).
/// Not for `check`, which allocates and frees a dump's worth in a second (`check --dump` on
/// 5,000 pods took 1.27x the typed-decode floor instead of 0.93x). Set on each arena there is
/// (`arena.<i>`) and for those created later (`arenas.`).
#[cfg(feature = "jemalloc")]
fn return_freed_pages_at_once() {
    // SAFETY: `arenas.narenas` is an `unsigned`, the decay times an `ssize_t` (jemalloc's
    // mallctl documentation); the names are NUL-terminated.
    let arenas = unsafe { tikv_jemalloc_ctl::raw::read::<u32>(b"arenas.narenas\0") }.unwrap_or(1);
    // Arena 0 serves every thread (`narenas:1`); the others (jemalloc's arena for huge
    // allocations) exist only once used, and are then created with `arenas.dirty_decay_ms`:
    // setting one before fails, harmlessly.
    let names = ["arenas.dirty_decay_ms\0".to_string()]
        .into_iter()
        .chain((0..arenas).map(|i| format!("arena.{i}.dirty_decay_ms\0")));
    for (n, name) in names.enumerate() {
        let set = unsafe { tikv_jemalloc_ctl::raw::write(name.as_bytes(), 0isize) };
        if let Err(e) = set
            && n < 2
        {
            tracing::warn!(
                option = name.trim_end_matches('\0'),
                "jemalloc option not set: {e}"
            );
        }
    }
    // SAFETY: `arena.<i>.purge` reads and writes nothing (null pointers, length 0); 4096 is
    // `MALLCTL_ARENAS_ALL`, every arena. tikv-jemalloc-ctl has no call for such a `void` name.
    let purged = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if purged != 0 {
        tracing::warn!(errno = purged, "jemalloc did not purge its free pages");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    kube_verdict::telemetry::init(matches!(cli.command, Command::Serve(_)));
    #[allow(unused_mut)]
    let mut hooks = kube_verdict::app::Hooks::default();
    #[cfg(feature = "jemalloc")]
    {
        hooks.synced = return_freed_pages_at_once;
    }
    let code = kube_verdict::app::run_with(cli, hooks);
    kube_verdict::telemetry::report_peak_rss();
    code
}
