//! Scale bench: `kube-verdict serve` (release build) and, in the same run and on the same
//! server, the plain kube-rs reflector program (`examples/plain_reflectors.rs`), watching the
//! fake API server of the tests with generated clusters of 1k, 5k, 10k and 20k pods. For each
//! size it prints, side by side: time to ready, steady and peak RSS; then for kube-verdict the
//! `/metrics` scrape time and, as p50/p99, the delay from the deciding watch event to the new
//! verdict for three cases (a build finishes with its pods ready, a pod becomes ready, a
//! FailedScheduling event), and the per-pod memory slope. No assertion on time: it prints
//! figures (see BENCHMARKS.md).
//!
//!     cargo build --release --example plain_reflectors
//!     cargo bench --bench serve_scale [-- --sizes 1000,5000,10000,20000 --samples 30 --events-per-pod 5 --ready-runs 3]
//!
//! The verdict delay is polled every millisecond on `/api/v1/verdicts/NS/NAME`, which reads the
//! same published snapshot `/metrics` renders (the last sample's `/metrics` is checked to show
//! the new `deploy_verdict`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_api::FakeApi;
use support::objects::*;
use support::*;

const REG: &str = "registry.example.com";
const PODS_PER: usize = 5;

/// A deployment the latency cases change.
struct Target {
    ns: String,
    name: String,
    image: String,
    hash: String,
}

/// The deployments kept aside for each latency case.
#[derive(Default)]
struct Targets {
    /// Converging on a running kaniko build, pods pulling.
    building: Vec<Target>,
    /// Four pods ready, one still creating.
    starting: Vec<Target>,
    /// Pods pending, no event yet.
    pending: Vec<Target>,
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// A cluster of `deployments` deployments of five pods in 50 namespaces: a tenth blocked by
/// FailedScheduling, one in a hundred converging on a running kaniko build, one in a hundred
/// with a pod still starting, one in a hundred pending without events, the rest verified
/// against their finished kaniko build or without one; 40 nodes; `events_per_pod` kubelet
/// events per pod.
fn generate(fake: &FakeApi, deployments: usize, events_per_pod: usize) -> Targets {
    let mut t = Targets::default();
    for n in 0..40 {
        fake.apply(node(&format!("node-{n}")));
    }
    for k in 0..deployments {
        let ns = format!("team-{:02}", k % 50);
        let name = format!("svc-{k:05}");
        let image = format!("{REG}/{ns}/{name}:1.0.{}", k % 9);
        let hash = format!("h{k:08}");
        let target = || Target {
            ns: ns.clone(),
            name: name.clone(),
            image: image.clone(),
            hash: hash.clone(),
        };
        let (building, starting, pending) = (k % 100 == 0, k % 100 == 50, k % 100 == 30);
        let blocked = k % 10 == 5;
        if k % 20 == 0 {
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
                &kaniko_log(&image, &format!("{REG}/{ns}/{name}"), &digest(&image), 90),
            );
        }
        if building {
            t.building.push(target());
        } else if starting {
            t.starting.push(target());
        } else if pending {
            t.pending.push(target());
        }
        let ready = match () {
            _ if blocked || building || pending => 0,
            _ if starting => PODS_PER as i64 - 1,
            _ => PODS_PER as i64,
        };
        let created = match () {
            _ if starting => -60,
            _ if pending => -900,
            _ => -3600,
        };
        fake.apply(deployment(
            &ns,
            &name,
            &image,
            PODS_PER as i64,
            ready,
            created,
        ));
        fake.apply(replicaset(
            &ns,
            &name,
            &hash,
            PODS_PER as i64,
            ready,
            created,
        ));
        for i in 0..PODS_PER as u32 {
            let pod = pod_name(&name, &hash, i);
            let running = format!("{REG}/{ns}/{name}@{}", digest(&image));
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
            } else if pending {
                fake.apply(pod_unscheduled(&ns, &name, &hash, i, &image, -900, ""));
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
            } else if starting && i == 0 {
                fake.apply(pod_waiting(
                    &ns,
                    &name,
                    &hash,
                    i,
                    &image,
                    "ContainerCreating",
                    -60,
                    json!({}),
                ));
            } else {
                fake.apply(pod_ready(&ns, &name, &hash, i, &image, &running, -3000));
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
    t
}

/// Polls `addr/path` every `every` until `f` holds (at most `limit`); the time it took.
fn time_until(every: Duration, limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(every);
    }
    None
}

/// One latency case: for each target, `change` applies the deciding events; the delay is from
/// the first of them until the verdict is `expected` (`verdict/cause`; intermediate verdicts,
/// such as a digest pending while the build log is read, are passed over). Returns the delays
/// (ms) and the transition seen (`before -> after`).
fn latency(
    addr: SocketAddr,
    targets: &[Target],
    samples: usize,
    expected: &str,
    mut change: impl FnMut(&Target),
) -> (Vec<f64>, String) {
    let mut delays = Vec::new();
    let mut seen = String::new();
    for t in targets.iter().take(samples) {
        let before = verdict_of(addr, &t.ns, &t.name);
        let start = Instant::now();
        change(t);
        let mut after = None;
        let took = time_until(Duration::from_millis(1), Duration::from_secs(30), || {
            after = verdict_of(addr, &t.ns, &t.name);
            after.as_deref() == Some(expected)
        });
        match took {
            Some(_) => delays.push(start.elapsed().as_secs_f64() * 1000.0),
            None => println!(
                "  {}/{}: not {expected} in 30 s ({before:?} -> {after:?})",
                t.ns, t.name
            ),
        }
        seen = format!(
            "{} -> {}",
            before.unwrap_or_default(),
            after.unwrap_or_default()
        );
    }
    (delays, seen)
}

/// The plain reflector program on the same server: (ready, steady RSS, peak RSS, CPU to
/// ready), from its start to its `synced_s=` line, and what it prints then and 5 s later.
fn plain(kubeconfig: &str) -> Option<(f64, f64, f64, f64)> {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/{}/examples/plain_reflectors",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    ));
    if !bin.exists() {
        println!("plain reflectors: not built (cargo build --release --example plain_reflectors)");
        return None;
    }
    let kc = tempfile::NamedTempFile::new().ok()?;
    std::fs::write(kc.path(), kubeconfig).ok()?;
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env("KUBECONFIG", kc.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let (mut ready, mut rss, mut hwm, mut cpu) = (0.0, 0.0, 0.0, 0.0);
    for line in BufReader::new(child.stdout.take()?).lines() {
        let line = line.ok()?;
        let num = |k: &str| line.strip_prefix(k).and_then(|v| v.parse::<f64>().ok());
        if line.starts_with("synced_s=") {
            ready = start.elapsed().as_secs_f64();
        } else if let Some(v) = num("rss_kib=") {
            rss = v / 1024.0;
        } else if let Some(v) = num("hwm_kib=") {
            hwm = v / 1024.0;
        } else if let Some(v) = num("cpu_s=") {
            cpu = v;
        }
    }
    let _ = child.wait();
    Some((ready, rss, hwm, cpu))
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this runs as a small smoke
    // test of the bench itself.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!("serve_scale: smoke run (use `cargo bench --bench serve_scale` for the figures)");
    }
    let sizes: Vec<usize> = std::env::args()
        .skip_while(|a| a != "--sizes")
        .nth(1)
        .unwrap_or_else(|| if full { "1000,5000,10000,20000" } else { "500" }.into())
        .split(',')
        .map(|s| s.parse().expect("--sizes 1000,5000"))
        .collect();
    let samples = arg("--samples", if full { 30 } else { 2 });
    let events_per_pod = arg("--events-per-pod", 5);
    let ready_runs = arg("--ready-runs", if full { 3 } else { 1 });
    let mut rows = Vec::new();
    for &pods in &sizes {
        let deployments = pods / PODS_PER;
        let fake = FakeApi::spawn();
        let t = Instant::now();
        let targets = generate(&fake, deployments, events_per_pod);
        println!(
            "\n{pods} pods: {deployments} deployments, ~{} events, {} build pods, 40 nodes (generated in {:.1}s)",
            pods * events_per_pod,
            deployments / 20,
            t.elapsed().as_secs_f64()
        );
        // Ready times vary by a tenth from run to run on this machine: each program starts
        // `--ready-runs` times, alternately, and the median counts (the RSS figures are the
        // last run's).
        let (mut kv_ready, mut plain_ready, mut peer) = (Vec::new(), Vec::new(), None);
        let (mut kv_cpu, mut plain_cpu) = (Vec::new(), Vec::new());
        let start_serve = || {
            let start = Instant::now();
            let s = serve_polled(
                Some(&fake.kubeconfig()),
                &["--recheck-interval", "30s"],
                Duration::from_millis(5),
            );
            time_until(Duration::from_millis(5), Duration::from_secs(300), || {
                http_get(s.addr, "/readyz", None).is_some_and(|r| r.0 == 200)
            })
            .expect("initial sync");
            let ready = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds(s.child.id());
            (s, ready, cpu)
        };
        for run in 0..ready_runs {
            if let Some(p) = plain(&fake.kubeconfig()) {
                plain_ready.push(p.0);
                plain_cpu.push(p.3);
                peer = Some(p);
            }
            if run + 1 < ready_runs {
                let (_, ready, cpu) = start_serve();
                kv_ready.push(ready);
                kv_cpu.push(cpu);
            }
        }
        let (s, last, cpu) = start_serve();
        kv_ready.push(last);
        kv_cpu.push(cpu);
        let ready = percentile(&kv_ready, 0.5);
        // The build logs fetched, the view settled.
        std::thread::sleep(Duration::from_secs(if full { 5 } else { 1 }));
        let pid = s.child.id();
        let rss = rss_kib(pid, "VmRSS:") as f64 / 1024.0;
        let hwm = rss_kib(pid, "VmHWM:") as f64 / 1024.0;
        let anon = rss_kib(pid, "RssAnon:") as f64 / 1024.0;
        let file = rss_kib(pid, "RssFile:") as f64 / 1024.0;
        let mut scrape = Vec::new();
        let mut size = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let (_, _, body) = http_get(s.addr, "/metrics", None).expect("scrape");
            scrape.push(t.elapsed().as_secs_f64() * 1000.0);
            size = body.len();
        }
        println!("                      ready (s)   steady RSS (MiB)   peak RSS (MiB)");
        println!("kube-verdict serve    {ready:>9.2}   {rss:>16.1}   {hwm:>14.1}");
        println!(
            "  (steady RSS: {anon:.1} MiB anonymous, {file:.1} MiB file-backed: the mapped binary)"
        );
        match peer {
            Some((_, rss, hwm, _)) => {
                let r = percentile(&plain_ready, 0.5);
                println!("plain reflectors      {r:>9.2}   {rss:>16.1}   {hwm:>14.1}")
            }
            None => println!("plain reflectors      (not run)"),
        }
        let runs = |v: &[f64]| {
            v.iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "ready, each run (s): kube-verdict {} | plain {}",
            runs(&kv_ready),
            runs(&plain_ready)
        );
        println!(
            "CPU to ready, each run (s, user + system): kube-verdict {} | plain {}",
            runs(&kv_cpu),
            runs(&plain_cpu)
        );
        println!(
            "/metrics scrape: median {:.1} ms, p99 {:.1} ms, {:.0} KiB",
            percentile(&scrape, 0.5),
            percentile(&scrape, 0.99),
            size as f64 / 1024.0
        );

        let build = latency(
            s.addr,
            &targets.building,
            samples,
            "verified/digest_match",
            |t| {
                let d = digest(&t.image);
                fake.apply(kaniko_pod(
                    "ci",
                    &format!("build-{}", t.name),
                    &t.image,
                    -3100,
                    Some((0, -1)),
                ));
                for i in 0..PODS_PER as u32 {
                    let id = format!("{REG}/{}/{}@{d}", t.ns, t.name);
                    fake.apply(pod_ready(&t.ns, &t.name, &t.hash, i, &t.image, &id, -1));
                }
                let n = PODS_PER as i64;
                fake.apply(replicaset(&t.ns, &t.name, &t.hash, n, n, -3600));
                fake.apply(deployment(&t.ns, &t.name, &t.image, n, n, -3600));
            },
        );
        let ready_case = latency(
            s.addr,
            &targets.starting,
            samples,
            "complete/no_build_known",
            |t| {
                let id = format!("{REG}/{}/{}@{}", t.ns, t.name, digest(&t.image));
                fake.apply(pod_ready(&t.ns, &t.name, &t.hash, 0, &t.image, &id, -1));
                let n = PODS_PER as i64;
                fake.apply(replicaset(&t.ns, &t.name, &t.hash, n, n, -60));
                fake.apply(deployment(&t.ns, &t.name, &t.image, n, n, -60));
            },
        );
        let scheduling = latency(
            s.addr,
            &targets.pending,
            samples,
            "blocked/insufficient_cpu",
            |t| {
                let pod = pod_name(&t.name, &t.hash, 0);
                let msg = "0/40 nodes are available: 40 Insufficient cpu. preemption: 0/40 nodes are available: 40 No preemption victims found for incoming pod.";
                fake.apply(pod_event(
                    &t.ns,
                    &pod,
                    "FailedScheduling",
                    msg,
                    -899,
                    -1,
                    40,
                    "default-scheduler",
                ));
            },
        );
        if let Some(t) = targets.pending.first() {
            let (_, _, m) = http_get(s.addr, "/metrics", None).expect("scrape");
            let line = m
                .lines()
                .find(|l| {
                    l.starts_with("deploy_verdict{")
                        && l.contains(&format!("deployment=\"{}\"", t.name))
                })
                .unwrap_or("(none)");
            println!("/metrics after the last case: {line}");
        }
        for (what, (d, seen)) in [
            ("build finished, pods ready", &build),
            ("a pod becomes ready", &ready_case),
            ("FailedScheduling event", &scheduling),
        ] {
            if d.is_empty() {
                println!("{what:<28} no sample");
                continue;
            }
            println!(
                "{what:<28} p50 {:>6.1} ms   p99 {:>6.1} ms   max {:>6.1} ms   ({} samples; {seen})",
                percentile(d, 0.5),
                percentile(d, 0.99),
                d.iter().cloned().fold(0.0, f64::max),
                d.len()
            );
        }
        let peer = peer.map(|(_, rss, hwm, _)| (percentile(&plain_ready, 0.5), rss, hwm));
        rows.push((pods, ready, rss, hwm, peer));
    }
    if rows.len() > 1 {
        println!(
            "\npods     ready kv / plain (s)   steady RSS kv / plain (MiB)   peak RSS kv / plain (MiB)"
        );
        for (pods, ready, rss, hwm, peer) in &rows {
            let (pr, prss, phwm) = peer.unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            println!(
                "{pods:<8} {ready:>8.2} / {pr:<8.2}   {rss:>12.1} / {prss:<10.1}   {hwm:>12.1} / {phwm:<10.1}"
            );
        }
        let (first, last) = (rows[0], rows[rows.len() - 1]);
        println!(
            "kube-verdict steady RSS per pod: {:.2} KiB (from {} to {} pods)",
            (last.2 - first.2) * 1024.0 / (last.0 - first.0) as f64,
            first.0,
            last.0
        );
    }
}
