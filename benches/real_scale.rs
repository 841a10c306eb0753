//! Scale on a real API server: kube-apiserver v1.35.4 with KWOK nodes and pods
//! (`scripts/control-plane.sh`), watched by `kube-verdict serve` (release build) and, in the same
//! run, by a plain kube-rs program keeping full-object reflectors of the same six kinds
//! (`examples/plain_reflectors.rs`). Prints the time to the first complete list and the resident
//! memory once synced, side by side. No assertion on time: it prints figures (BENCHMARKS.md).
//!
//!     cargo build --release --example plain_reflectors
//!     cargo bench --bench real_scale [-- --deployments 100 --replicas 50]
//!
//! Under `cargo test --all-targets` (so in `.ci/run`) it runs the same comparison on 500 pods
//! with the debug builds: it proves the path on the real API server, its figures are not for
//! comparison (creating 5,000 KWOK pods takes about five minutes on two cores).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::control_plane::{ControlPlane, node};
use support::*;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let profile = if full { "release" } else { "debug" };
    if !full {
        println!(
            "real_scale: smoke run, 500 pods, debug builds (`cargo bench --bench real_scale` for the figures)"
        );
    }
    let plain = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/{profile}/examples/plain_reflectors"));
    assert!(
        plain.exists(),
        "build the peer first: cargo build {}--example plain_reflectors",
        if full { "--release " } else { "" }
    );
    let Some(cp) = ControlPlane::up() else {
        println!(
            "real_scale: the control plane is not built (bash scripts/control-plane.sh build)"
        );
        return;
    };
    let deployments = arg("--deployments", if full { 100 } else { 10 });
    let replicas = arg("--replicas", 50);
    let pods = deployments * replicas;
    let mut objects = String::new();
    for n in 0..(pods / 500).max(1) {
        objects.push_str(
            &node(&format!("worker-{n}"), "256", "1Ti", &[], &[])
                .replace("pods: \"110\"", "pods: \"600\""),
        );
    }
    objects.push_str("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bulk\n---\n");
    cp.apply(&objects);
    let mut workloads = String::new();
    for d in 0..deployments {
        workloads.push_str(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{d:03}\n  namespace: bulk\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: svc-{d:03}}}\n  template:\n    metadata:\n      labels: {{app: svc-{d:03}}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/bulk/svc-{d:03}:1.0.0\n        resources:\n          requests: {{cpu: 1m, memory: 1Mi}}\n---\n"
        ));
    }
    let t = Instant::now();
    cp.apply(&workloads);
    cp.wait("every pod running", Duration::from_secs(1800), |cp| {
        cp.running_pods("bulk") == pods
    });
    println!(
        "cluster: {deployments} deployments, {pods} KWOK pods running after {:.0} s (kube-apiserver v1.35.4)",
        t.elapsed().as_secs_f64()
    );

    // kube-verdict serve: start to /readyz 200, then resident memory.
    let port = free_port();
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
        // Registry lookups only where a test is about them: never off loopback.
        .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("KUBECONFIG", &cp.kubeconfig)
        .env("KUBE_VERDICT_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kube-verdict");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_until("kube-verdict ready", Duration::from_secs(600), || {
        http_get(addr, "/readyz", None).is_some_and(|r| r.0 == 200)
    });
    let kv_sync = t.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(5));
    let kv_rss = rss_kib(child.id(), "VmRSS:");
    let _ = child.kill();
    let _ = child.wait();

    // The plain reflectors.
    let out = Command::new(&plain)
        .env("KUBECONFIG", &cp.kubeconfig)
        .output()
        .expect("run plain_reflectors");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("?")
            .to_string()
    };
    let plain_rss: f64 = field("rss_kib").parse().unwrap_or(0.0);
    println!("                      ready (s)   RSS once synced (MiB)");
    println!(
        "kube-verdict serve    {kv_sync:>9.2}   {:>8.1}",
        kv_rss as f64 / 1024.0
    );
    println!(
        "plain kube-rs         {:>9}   {:>8.1}",
        field("synced_s"),
        plain_rss / 1024.0
    );
}
