//! Soak bench: `kube-verdict serve` (release build) watching the fake API server while the
//! cluster churns steadily (pods replaced, events emitted, build pods with logs, preview
//! namespaces created and deleted) and faults are injected in turn (500 bursts, throttling,
//! dropped watches, compaction, a silent pods watch, a hung list). Samples RSS, open file
//! descriptors, threads and the `/metrics` series count, and prints the trend: the median of the
//! last quarter of the run against the first. No assertion on figures (see BENCHMARKS.md).
//!
//!     cargo bench --bench soak -- --seconds 1800 [--deployments 200] [--event-ttl 300]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::fake_api::{FakeApi, Res};
use support::objects::*;
use support::*;

const REG: &str = "registry.example.com";

/// One sample of the process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: f64,
    rss_mib: f64,
    fds: usize,
    threads: usize,
    series: usize,
    healthy: bool,
}

fn sample(pid: u32, addr: std::net::SocketAddr, started: Instant) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let threads = status
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let body = http_get(addr, "/metrics", None)
        .map(|r| r.2)
        .unwrap_or_default();
    Sample {
        at: started.elapsed().as_secs_f64(),
        rss_mib: rss_kib(pid, "VmRSS:") as f64 / 1024.0,
        fds,
        threads,
        series: body.lines().filter(|l| !l.starts_with('#')).count(),
        healthy: body.contains("kube_verdict_source_up{source=\"api-server\"} 1"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A deployment with `pods` ready pods, all in namespace `ns`.
fn app(fake: &FakeApi, ns: &str, name: &str, pods: u32, generation: u32) {
    let image = format!("{REG}/{ns}/{name}:1.0.0");
    let hash = format!("h{generation:07}");
    fake.apply(deployment(
        ns,
        name,
        &image,
        pods.into(),
        pods.into(),
        -3600,
    ));
    fake.apply(replicaset(ns, name, &hash, pods.into(), pods.into(), -3600));
    for i in 0..pods {
        let id = format!("{REG}/{ns}/{name}@{}", digest(&image));
        fake.apply(pod_ready(ns, name, &hash, i, &image, &id, -600));
    }
}

/// One step of churn at second `tick`: replace a pod, emit events, build, open and close a
/// preview namespace.
fn churn(fake: &FakeApi, tick: u32, deployments: u32, event_ttl: u32) {
    // The API server's event TTL (one hour in Kubernetes): events of `event_ttl` ticks ago go.
    if event_ttl > 0 && tick >= event_ttl {
        let then = tick - event_ttl;
        let k = then % deployments;
        let (ns, name) = (format!("team-{:02}", k % 20), format!("svc-{k:04}"));
        let pod = pod_name(&name, &format!("h{:07}", then / deployments + 1), 0);
        for e in 0..5 {
            fake.delete("Event", &ns, &format!("{pod}.{then:08x}{e}"));
        }
    }
    let k = tick % deployments;
    let (ns, name) = (format!("team-{:02}", k % 20), format!("svc-{k:04}"));
    // Replace the pods of one deployment under a new ReplicaSet hash, and delete the old
    // ReplicaSet, as the Deployment controller would (revisionHistoryLimit 0).
    let old_hash = format!("h{:07}", tick / deployments);
    for i in 0..3 {
        fake.delete("Pod", &ns, &pod_name(&name, &old_hash, i));
    }
    fake.delete("ReplicaSet", &ns, &format!("{name}-{old_hash}"));
    app(fake, &ns, &name, 3, tick / deployments + 1);
    for e in 0..5 {
        let pod = pod_name(&name, &format!("h{:07}", tick / deployments + 1), 0);
        let mut ev = pod_event(
            &ns,
            &pod,
            "Pulled",
            "Successfully pulled image",
            -2,
            -1,
            1,
            "kubelet",
        );
        ev["metadata"]["name"] = serde_json::json!(format!("{pod}.{tick:08x}{e}"));
        fake.apply(ev);
    }
    if tick.is_multiple_of(10) {
        let image = format!("{REG}/{ns}/{name}:1.0.0");
        let build = format!("build-{name}-{tick}");
        fake.apply(kaniko_pod("ci", &build, &image, -120, Some((0, -30))));
        let log = kaniko_log(&image, &format!("{REG}/{ns}/{name}"), &digest(&image), 90);
        fake.set_log("ci", &build, "kaniko", &log);
        if tick >= 60 {
            let before = tick - 60;
            let old = format!("svc-{:04}", before % deployments);
            fake.delete("Pod", "ci", &format!("build-{old}-{before}"));
        }
    }
    if tick.is_multiple_of(15) {
        let preview = format!("preview-{}", tick / 15);
        app(fake, &preview, "web", 1, 1);
        if tick >= 90 {
            let old = format!("preview-{}", tick / 15 - 6);
            fake.delete("Deployment", &old, "web");
            fake.delete("ReplicaSet", &old, &format!("web-h{:07}", 1));
            fake.delete("Pod", &old, &pod_name("web", &format!("h{:07}", 1), 0));
        }
    }
}

/// The fault of minute `m` (one at a time, in turn), and the repair of the one before.
fn fault(fake: &FakeApi, m: u32) {
    fake.faults(|f| {
        f.silent_watches.clear();
        f.hold_lists.clear();
    });
    match m % 6 {
        0 => fake.faults(|f| f.list_errors = 5),
        1 => fake.faults(|f| f.throttle = 20),
        2 => fake.drop_watches(),
        3 => fake.compact(),
        4 => {
            fake.faults(|f| f.silent_watches = vec![Res::Pods]);
            fake.drop_watches();
        }
        _ => {
            fake.faults(|f| f.hold_lists = vec![Res::Events]);
            fake.drop_watches();
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = arg("--seconds", if full { 1800 } else { 20 }) as u32;
    let deployments = arg("--deployments", if full { 200 } else { 20 }) as u32;
    // Seconds an event lives in the fake API server: a real one keeps them an hour
    // (`--event-ttl`); 300 here so that the set of events, which the view mirrors, is steady
    // within the run (0: for ever).
    let event_ttl = arg("--event-ttl", 300) as u32;
    if !full {
        println!(
            "soak: smoke run (use `cargo bench --bench soak -- --seconds 1800` for the figures)"
        );
    }
    let fake = FakeApi::spawn();
    for n in 0..20 {
        fake.apply(node(&format!("node-{n}")));
    }
    for k in 0..deployments {
        app(
            &fake,
            &format!("team-{:02}", k % 20),
            &format!("svc-{k:04}"),
            3,
            0,
        );
    }
    let s = serve(Some(&fake.kubeconfig()), &["--watch-timeout", "5s"]);
    let pid = s.child.id();
    wait_until("first sync", Duration::from_secs(60), || {
        metric(s.addr, "kube_verdict_synced") == Some(1.0)
    });
    let started = Instant::now();
    let every = if full { 30 } else { 2 };
    let mut samples = Vec::new();
    let mut tick = 0u32;
    while started.elapsed() < Duration::from_secs(seconds.into()) {
        let step = Instant::now();
        churn(&fake, tick, deployments, event_ttl);
        if tick % 60 == 30 {
            fault(&fake, tick / 60);
        }
        if tick.is_multiple_of(every) {
            let x = sample(pid, s.addr, started);
            if full {
                println!(
                    "  {:>6.0}s  rss {:>6.1} MiB  fds {:>4}  threads {:>3}  series {:>6}  {}",
                    x.at,
                    x.rss_mib,
                    x.fds,
                    x.threads,
                    x.series,
                    if x.healthy {
                        "healthy"
                    } else {
                        "unhealthy (fault)"
                    }
                );
            }
            samples.push(x);
        }
        tick += 1;
        std::thread::sleep(Duration::from_secs(1).saturating_sub(step.elapsed()));
    }
    fake.faults(|f| {
        f.silent_watches.clear();
        f.hold_lists.clear();
    });
    // The view grows until the fake starts expiring events: the trend starts after that.
    let warm_up = f64::from(event_ttl.max(60));
    let steady: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|x| x.at >= warm_up || event_ttl == 0)
        .collect();
    let steady = if steady.len() >= 4 {
        steady
    } else {
        samples.clone()
    };
    let q = (steady.len() / 4).max(1);
    let (first, last) = (&steady[..q], &steady[steady.len() - q..]);
    let trend = |name: &str, f: fn(&Sample) -> f64| {
        let (a, b) = (
            median(first.iter().map(f).collect()),
            median(last.iter().map(f).collect()),
        );
        println!(
            "  {name:<8} first quarter {a:>8.1}   last quarter {b:>8.1}   change {:>+6.1}%",
            100.0 * (b - a) / a.max(1e-9)
        );
    };
    println!(
        "soak: {seconds} s, {deployments} deployments of 3 pods, {tick} churn steps, a fault a minute, events expire after {event_ttl} s; {} samples, the trend over the {} after {warm_up:.0} s",
        samples.len(),
        steady.len()
    );
    trend("rss MiB", |x| x.rss_mib);
    trend("fds", |x| x.fds as f64);
    trend("threads", |x| x.threads as f64);
    trend("series", |x| x.series as f64);
    let healthy = samples.iter().filter(|x| x.healthy).count();
    println!(
        "  healthy in {healthy} of {} samples (faults make it 0 on purpose)",
        samples.len()
    );
}
