//! Test support: the fake API server, object builders, and running the real binary.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support"
)]

pub mod control_plane;
pub mod fake_api;
pub mod objects;
pub mod procfs;
pub mod proxy;
pub mod registry;
pub mod replay;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root (where Cargo.toml is).
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The value of a `--name N` argument of a bench, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User and system CPU time of a process so far (`/proc/PID/stat`, clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> f64 {
    procfs::cpu_seconds(&pid.to_string())
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
pub fn rss_kib(pid: u32, field: &str) -> u64 {
    procfs::status_kib(&pid.to_string(), field)
}

/// A free port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET; returns (status, headers, body). Bounded by a 5 s timeout.
pub fn http_get(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n{accept}\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, head.to_string(), body.to_string()))
}

/// `kube-verdict serve` as a child process; killed when dropped.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    _kubeconfig: Option<tempfile::NamedTempFile>,
    /// Run under `KUBE_VERDICT_SERVE_WRAPPER`, in its own process group: the whole group is
    /// killed (the wrapper's child would outlive it otherwise).
    wrapped: bool,
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.wrapped {
            // TERM first, so a profiler writes its data; KILL whatever is left after 10 s.
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            for _ in 0..100 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` against a kubeconfig (live) or with extra args (e.g. `--dump DIR`).
pub fn serve(kubeconfig: Option<&str>, extra: &[&str]) -> Served {
    serve_polled(kubeconfig, extra, Duration::from_millis(100))
}

/// [`serve`], waiting for it to listen with a poll every `poll`: the scale bench times serve
/// from its spawn to ready and polls every 5 ms (a 100 ms poll added up to 100 ms to that
/// figure). The tests keep 100 ms: a quicker poll can leave an earlier probe's connection open
/// when a test counts connections.
pub fn serve_polled(kubeconfig: Option<&str>, extra: &[&str], poll: Duration) -> Served {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // `KUBE_VERDICT_SERVE_WRAPPER="heaptrack -o /tmp/ht"` runs serve under a profiler (benches;
    // the RSS figures are then the wrapper's).
    let wrapper = std::env::var("KUBE_VERDICT_SERVE_WRAPPER").unwrap_or_default();
    let wrapped = !wrapper.trim().is_empty();
    let mut cmd = if wrapped {
        let mut words = wrapper.split_whitespace();
        let mut c = Command::new(words.next().unwrap_or_default());
        c.args(words).arg(env!("CARGO_BIN_EXE_kube-verdict"));
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
    };
    // Registry lookups only where a test asks for them (`--registry-lookup on`): never off
    // loopback.
    cmd.env("KUBE_VERDICT_REGISTRY_LOOKUP", "off");
    cmd.args(["serve", "--listen", &addr.to_string()]);
    if !extra.contains(&"--recheck-interval") {
        cmd.args(["--recheck-interval", "1s"]);
    }
    cmd.args(extra)
        .env("KUBE_VERDICT_LOG", "warn,kube_verdict=info")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let kc = kubeconfig.map(|k| {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(k.as_bytes()).unwrap();
        f
    });
    if let Some(f) = &kc {
        cmd.env("KUBECONFIG", f.path());
    }
    let child = cmd.spawn().expect("spawn kube-verdict serve");
    let served = Served {
        child,
        addr,
        _kubeconfig: kc,
        wrapped,
    };
    let start = Instant::now();
    while http_get(addr, "/healthz", None).is_none_or(|r| r.0 != 200) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out after 20 s waiting for serve to listen"
        );
        std::thread::sleep(poll);
    }
    served
}

/// Polls `f` every 100 ms until it holds; panics after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// The verdict of `ns/name` from `GET /api/v1/verdicts/ns/name`, as `verdict/cause`.
pub fn verdict_of(addr: SocketAddr, ns: &str, name: &str) -> Option<String> {
    let (code, _, body) = http_get(addr, &format!("/api/v1/verdicts/{ns}/{name}"), None)?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(format!(
        "{}/{}",
        v["verdict"].as_str()?,
        v["cause"].as_str()?
    ))
}

/// Waits until `ns/name` has `expected` (`verdict/cause`), showing the last one seen on failure.
pub fn wait_verdict(addr: SocketAddr, ns: &str, name: &str, expected: &str, limit: Duration) {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < limit {
        last = verdict_of(addr, ns, name);
        if last.as_deref() == Some(expected) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{ns}/{name}: expected {expected} within {limit:?}, last seen {last:?}");
}

/// The value of one exposition line starting with `prefix` (metric name and labels).
pub fn metric(addr: SocketAddr, prefix: &str) -> Option<f64> {
    let (_, _, body) = http_get(addr, "/metrics", None)?;
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The sum of every sample whose line starts with `prefix` (all label sets of a family).
pub fn metric_sum(addr: SocketAddr, prefix: &str) -> f64 {
    let Some((_, _, body)) = http_get(addr, "/metrics", None) else {
        return 0.0;
    };
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A plain HTTP/1.0 POST with extra headers; returns (status, body).
pub fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .ok()?;
    s.write_all(body).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((
        head.split_whitespace().nth(1)?.parse().ok()?,
        body.to_string(),
    ))
}

/// Every metric family kube-verdict exports (as exposed: counters with `_total`, histograms by
/// their base name). tests/metrics.rs checks /metrics and the README against it; tests/alerting.rs
/// checks that rules and dashboards use nothing else.
pub const EXPORTED_METRICS: &[&str] = &[
    "deploy_verdict",
    "deploy_digest_match",
    "deploy_scheduling_blocker",
    "deploy_build_info",
    "deploy_rollout_duration_seconds",
    "platform_failure_reports_total",
    "platform_false_negative_total",
    "platform_confirmed_failure_total",
    "platform_unresolved_reports_total",
    "platform_report_truth_delay_seconds",
    "kube_verdict_watch_events_total",
    "kube_verdict_watch_restarts_total",
    "kube_verdict_source_errors_total",
    "kube_verdict_skipped_objects_total",
    "kube_verdict_log_fetches_total",
    "kube_verdict_registry_requests_total",
    "kube_verdict_report_requests_total",
    "kube_verdict_reports_evicted_total",
    "kube_verdict_reports_held",
    "kube_verdict_reports_pending",
    "kube_verdict_http_connections_open",
    "kube_verdict_http_connections_rejected_total",
    "kube_verdict_http_connections_evicted_total",
    "kube_verdict_cached_objects",
    "kube_verdict_synced",
    "kube_verdict_source_up",
    "kube_verdict_watch_healthy",
    "kube_verdict_last_judged_timestamp_seconds",
    "kube_verdict_build_info",
];

/// Runs a command, returning (success, stdout+stderr).
pub fn run_tool(cmd: &str, args: &[&str]) -> (bool, String) {
    match Command::new(cmd)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
    {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run {cmd}: {e}")),
    }
}

/// True when `cmd` is installed; in CI (CI set) a missing tool fails the test instead.
pub fn require_tool(cmd: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{cmd} is required in CI (scripts/test.sh installs it)"
        );
        eprintln!("SKIP: {cmd} not installed (bash scripts/test.sh installs it)");
    }
    found
}

/// Metric-like identifiers of an expression (ours: `deploy_`, `kube_verdict`, `platform_`,
/// `platform:`), ignoring label values in quotes.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    let mut in_str = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_str = !in_str;
            cur.clear();
            continue;
        }
        if in_str {
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            cur.push(c);
        } else {
            if cur.starts_with("deploy_")
                || cur.starts_with("kube_verdict")
                || cur.starts_with("platform_")
                || cur.starts_with("platform:")
            {
                out.insert(cur.clone());
            }
            cur.clear();
        }
    }
    out
}

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Debian's `prometheus` on 127.0.0.1 with a free port and the given configuration
/// text, storing its data under `dir`; waits until it is ready.
pub fn start_prometheus(dir: &std::path::Path, config: &str) -> (KillOnDrop, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let child = Command::new("prometheus")
        .args([
            &format!("--config.file={}", cfg.display()),
            &format!(
                "--storage.tsdb.path={}",
                dir.join("prometheus-data").display()
            ),
            &format!("--web.listen-address={addr}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prometheus");
    let guard = KillOnDrop(child);
    wait_until("prometheus ready", Duration::from_secs(30), || {
        http_get(addr, "/-/ready", None).is_some_and(|r| r.0 == 200)
    });
    (guard, addr)
}

/// Starts Debian's `prometheus-alertmanager` on `addr` (127.0.0.1, a free port the caller chose
/// so that other configuration can name it first; no clustering) with the given configuration
/// file; waits until it is ready.
pub fn start_alertmanager(
    dir: &std::path::Path,
    config_file: &std::path::Path,
    addr: SocketAddr,
) -> KillOnDrop {
    let child = Command::new("prometheus-alertmanager")
        .args([
            &format!("--config.file={}", config_file.display()),
            &format!("--storage.path={}", dir.join("alertmanager-data").display()),
            &format!("--web.listen-address={addr}"),
            "--cluster.listen-address=",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prometheus-alertmanager");
    let guard = KillOnDrop(child);
    wait_until("alertmanager ready", Duration::from_secs(30), || {
        http_get(addr, "/-/ready", None).is_some_and(|r| r.0 == 200)
    });
    guard
}

pub const SEED_IMAGE: &str = "registry.example.com/shop/checkout:1.8.0";
pub const SEED_BUILD: &str = "build-checkout-1-8-0";

/// The seed incident at t=0: the platform deployed checkout:1.8.0, the image does not exist yet
/// (pull failures), the kaniko build is running.
pub fn seed_start(fake: &fake_api::FakeApi) {
    use objects::*;
    let image = SEED_IMAGE;
    fake.apply(node("node-1"));
    fake.apply(deployment("shop", "checkout", image, 1, 0, -60));
    fake.apply(replicaset("shop", "checkout", "7f9c8d6b5", 1, 0, -60));
    fake.apply(pod_waiting(
        "shop",
        "checkout",
        "7f9c8d6b5",
        0,
        image,
        "ImagePullBackOff",
        -55,
        serde_json::json!({}),
    ));
    fake.apply(pod_event(
        "shop",
        &pod_name("checkout", "7f9c8d6b5", 0),
        "Failed",
        &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"),
        -54,
        -10,
        4,
        "kubelet",
    ));
    fake.apply(kaniko_pod("ci", SEED_BUILD, image, -90, None));
}

/// At +90 s of the seed: the build pushed (its log says so), the new pod runs the pushed digest
/// and is ready, the rollout is complete. Returns the digest.
pub fn seed_finish(fake: &fake_api::FakeApi) -> String {
    use objects::*;
    let image = SEED_IMAGE;
    let d = digest("checkout-1.8.0");
    fake.set_log(
        "ci",
        SEED_BUILD,
        "kaniko",
        &kaniko_log(image, "registry.example.com/shop/checkout", &d, 88),
    );
    fake.apply(kaniko_pod("ci", SEED_BUILD, image, -90, Some((0, -2))));
    fake.apply(pod_ready(
        "shop",
        "checkout",
        "7f9c8d6b5",
        0,
        image,
        &format!("registry.example.com/shop/checkout@{d}"),
        -1,
    ));
    fake.apply(replicaset("shop", "checkout", "7f9c8d6b5", 1, 1, -60));
    fake.apply(deployment("shop", "checkout", image, 1, 1, -60));
    d
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run UPDATE_GOLDEN=1 cargo test", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n  golden: {a}\n  actual: {b}", i + 1))
            .collect();
        panic!(
            "{} differs from the golden file ({} vs {} lines):\n{}\nrun UPDATE_GOLDEN=1 cargo test if the change is intended",
            name,
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

/// One look at serve's health signals.
#[derive(Debug, Clone)]
pub struct HealthSample {
    pub source_up: Option<f64>,
    /// The lowest `kube_verdict_watch_healthy{resource}` (0 when any resource is unhealthy).
    pub watches_healthy: Option<f64>,
    /// `/readyz` just before the scrape, then just after it.
    pub readyz: String,
}

/// Samples serve's health signals every 25 ms on a thread while a fault is injected, so a test
/// can assert they were honest *during* it, not only after.
pub struct HealthWitness {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<HealthSample>>>,
}

impl HealthWitness {
    pub fn start(addr: SocketAddr) -> HealthWitness {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            let readyz = || {
                http_get(addr, "/readyz", None)
                    .map(|r| r.2)
                    .unwrap_or_default()
            };
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                // /readyz before and after the scrape: health may change between two
                // requests, and a cause named on either side of a 0 is honest.
                let before = readyz();
                let metrics = http_get(addr, "/metrics", None)
                    .map(|r| r.2)
                    .unwrap_or_default();
                let value = |prefix: &str| {
                    metrics
                        .lines()
                        .filter(|l| l.starts_with(prefix))
                        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                        .reduce(f64::min)
                };
                samples.push(HealthSample {
                    source_up: value("kube_verdict_source_up{"),
                    watches_healthy: value("kube_verdict_watch_healthy{"),
                    readyz: format!("{before}{}", readyz()),
                });
                std::thread::sleep(Duration::from_millis(25));
            }
            samples
        });
        HealthWitness {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; panics when a sample was dishonest: a resource unhealthy while
    /// `source_up` said 1, or `source_up` 0 while `/readyz` named no cause. Returns the samples.
    pub fn finish(mut self) -> Vec<HealthSample> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let samples = self.thread.take().unwrap().join().unwrap();
        for s in &samples {
            if s.watches_healthy == Some(0.0) {
                assert_eq!(
                    s.source_up,
                    Some(0.0),
                    "a watch unhealthy with source_up 1: {s:?}"
                );
            }
            if s.source_up == Some(0.0) {
                assert!(
                    s.readyz.contains("source is down") || s.readyz.contains("unhealthy watches"),
                    "source_up 0 but /readyz names no cause: {s:?}"
                );
            }
        }
        samples
    }
}
