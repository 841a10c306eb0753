//! The floor of `check --dump` in `benches/check_dump.py`: decodes every JSON list of a
//! `kubectl cluster-info dump` tree into typed k8s-openapi lists (`List<Pod>`, ...), files on as
//! many threads as `check` uses, and nothing else: no projection, no judging, no report. Prints
//! the items decoded and the process's peak RSS. Not part of kube-verdict.
//!
//!     cargo run --release --example typed_decode -- DUMP_DIR

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Node, Pod};

#[derive(serde::Deserialize)]
struct Peek {
    kind: Option<String>,
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Items decoded from one file (0 for a list of another kind).
fn decode(path: &Path) -> usize {
    fn list<T>(bytes: &[u8]) -> usize
    where
        T: k8s_openapi::ListableResource + serde::de::DeserializeOwned,
    {
        serde_json::from_slice::<k8s_openapi::List<T>>(bytes).map_or(0, |l| l.items.len())
    }
    let Ok(bytes) = std::fs::read(path) else {
        return 0;
    };
    let kind = serde_json::from_slice::<Peek>(&bytes)
        .ok()
        .and_then(|p| p.kind)
        .unwrap_or_default();
    match kind.as_str() {
        "PodList" => list::<Pod>(&bytes),
        "NodeList" => list::<Node>(&bytes),
        "DeploymentList" => list::<Deployment>(&bytes),
        "ReplicaSetList" => list::<ReplicaSet>(&bytes),
        "EventList" => list::<Event>(&bytes),
        "JobList" => list::<Job>(&bytes),
        _ => 0,
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: typed_decode DUMP_DIR");
    let mut all = Vec::new();
    files(Path::new(&dir), &mut all);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let items: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0;
                    while let Some(f) =
                        all.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        n += decode(f);
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    println!("files={} items={items}", all.len());
    eprintln!("peak_rss_kib={}", peak_rss_kib());
}
