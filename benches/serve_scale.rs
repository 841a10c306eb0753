//! Scale bench: `kube-verdict serve` (release build) watching the fake API server with a
//! generated cluster of 10,000 pods, 2,000 deployments and 50,000 events. Prints the initial sync
//! time, steady-state RSS, `/metrics` scrape time and size, and the delay from a watch event to
//! the updated verdict. No assertion on time: it prints figures (see BENCHMARKS.md).
//!
//!     cargo bench --bench serve_scale [-- --deployments 2000 --pods-per 5 --events-per-pod 5]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_api::FakeApi;
use support::objects::*;
use support::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

const REG: &str = "registry.example.com";

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this runs as a small smoke
    // test of the bench itself.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!("serve_scale: smoke run (use `cargo bench --bench serve_scale` for the figures)");
    }
    let deployments = arg("--deployments", if full { 2000 } else { 100 });
    let pods_per = arg("--pods-per", 5);
    let events_per_pod = arg("--events-per-pod", 5);
    let fake = FakeApi::spawn();
    let t = Instant::now();
    for n in 0..40 {
        fake.apply(node(&format!("node-{n}")));
    }
    let mut converging = Vec::new();
    for k in 0..deployments {
        let ns = format!("team-{:02}", k % 50);
        let name = format!("svc-{k:04}");
        let image = format!("{REG}/{ns}/{name}:1.0.{}", k % 9);
        let hash = format!("h{k:08}");
        let building = k % 100 == 0;
        let blocked = k % 10 == 5;
        if k % 20 == 0 {
            let d = digest(&image);
            let exit = if building { None } else { Some((0, -3000)) };
            fake.apply(kaniko_pod(
                "ci",
                &format!("build-{name}"),
                &image,
                -3100,
                exit,
            ));
            fake.set_log(
                "ci",
                &format!("build-{name}"),
                "kaniko",
                &kaniko_log(&image, &format!("{REG}/{ns}/{name}"), &d, 90),
            );
        }
        if building {
            converging.push((ns.clone(), name.clone(), image.clone(), hash.clone()));
        }
        let ready = if blocked || building {
            0
        } else {
            pods_per as i64
        };
        fake.apply(deployment(
            &ns,
            &name,
            &image,
            pods_per as i64,
            ready,
            -3600,
        ));
        fake.apply(replicaset(&ns, &name, &hash, pods_per as i64, ready, -3600));
        for i in 0..pods_per as u32 {
            let pod = pod_name(&name, &hash, i);
            if blocked {
                let msg = "0/40 nodes are available: 12 Insufficient cpu, 28 Insufficient memory. preemption: 0/40 nodes are available: 40 No preemption victims found for incoming pod.";
                fake.apply(pod_unscheduled(&ns, &name, &hash, i, &image, -900, msg));
                fake.apply(pod_event(
                    &ns,
                    &pod,
                    "FailedScheduling",
                    msg,
                    -899,
                    -5,
                    30,
                    "default-scheduler",
                ));
            } else if building {
                fake.apply(pod_waiting(
                    &ns,
                    &name,
                    &hash,
                    i,
                    &image,
                    "ImagePullBackOff",
                    -900,
                    json!({}),
                ));
            } else {
                fake.apply(pod_ready(
                    &ns,
                    &name,
                    &hash,
                    i,
                    &image,
                    &format!("{REG}/{ns}/{name}@{}", digest(&image)),
                    -3000,
                ));
            }
            for e in 0..events_per_pod.saturating_sub(usize::from(blocked)) {
                let mut ev = pod_event(
                    &ns,
                    &pod,
                    ["Scheduled", "Pulling", "Pulled", "Created", "Started"][e % 5],
                    "event text",
                    -3500 + e as i64,
                    -3500 + e as i64,
                    1,
                    "kubelet",
                );
                ev["metadata"]["name"] = json!(format!("{pod}.{e:04x}"));
                fake.apply(ev);
            }
        }
    }
    let pods = deployments * pods_per;
    println!(
        "cluster: {deployments} deployments, {pods} pods, ~{} events, {} build pods, 40 nodes (generated in {:.1}s)",
        pods * events_per_pod,
        deployments / 20,
        t.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let s = serve(Some(&fake.kubeconfig()), &["--recheck-interval", "30s"]);
    wait_until("initial sync", Duration::from_secs(300), || {
        http_get(s.addr, "/readyz", None).is_some_and(|r| r.0 == 200)
    });
    let sync = start.elapsed();
    // Wait for the build logs to be fetched and the view to settle.
    std::thread::sleep(Duration::from_secs(if full { 5 } else { 1 }));
    let pid = s.child.id();
    let rss = rss_kib(pid, "VmRSS:");
    let hwm = rss_kib(pid, "VmHWM:");

    let mut scrape = Vec::new();
    let mut size = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let (_, _, body) = http_get(s.addr, "/metrics", None).expect("scrape");
        scrape.push(t.elapsed().as_secs_f64() * 1000.0);
        size = body.len();
    }

    let mut delays = Vec::new();
    for (ns, name, image, hash) in converging.iter().take(5) {
        let before = verdict_of(s.addr, ns, name);
        let t = Instant::now();
        let d = digest(image);
        fake.apply(kaniko_pod(
            "ci",
            &format!("build-{name}"),
            image,
            -3100,
            Some((0, -1)),
        ));
        for i in 0..pods_per as u32 {
            fake.apply(pod_ready(
                ns,
                name,
                hash,
                i,
                image,
                &format!("{REG}/{ns}/{name}@{d}"),
                -1,
            ));
        }
        fake.apply(replicaset(
            ns,
            name,
            hash,
            pods_per as i64,
            pods_per as i64,
            -3600,
        ));
        fake.apply(deployment(
            ns,
            name,
            image,
            pods_per as i64,
            pods_per as i64,
            -3600,
        ));
        wait_until("verified", Duration::from_secs(60), || {
            verdict_of(s.addr, ns, name).as_deref() == Some("verified/digest_match")
        });
        delays.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(before.as_deref(), Some("converging/build_running"));
    }

    println!(
        "initial sync (start to /readyz 200): {:.2} s",
        sync.as_secs_f64()
    );
    println!(
        "steady-state RSS: {:.1} MiB (peak {:.1} MiB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "/metrics scrape: median {:.1} ms, {:.0} KiB",
        median(scrape.clone()),
        size as f64 / 1024.0
    );
    println!(
        "watch event to verdict (build finished, log fetched, pods ready -> verified): median {:.0} ms, max {:.0} ms over {} deployments",
        median(delays.clone()),
        delays.iter().cloned().fold(0.0, f64::max),
        delays.len()
    );
}
