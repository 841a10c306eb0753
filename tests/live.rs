//! End to end: the real `kube-verdict serve` (and live `check`) binary against the fake API
//! server, through a kubeconfig. Each scenario is a timeline of objects added and changed, with
//! faults injected; every wait is bounded.

mod support;

use std::time::Duration;

use serde_json::json;
use support::fake_api::{FakeApi, Res};
use support::objects::*;
use support::*;

const LIMIT: Duration = Duration::from_secs(20);
const REG: &str = "registry.example.com";

#[test]
fn seed_timeline_is_converging_while_the_build_runs_then_verified() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    let (code, _, body) = http_get(s.addr, "/readyz", None).unwrap();
    assert_eq!((code, body.trim()), (200, "ready"));

    let d = seed_finish(&fake);
    // The build log is fetched (no termination message), the Pushed line proves the digest.
    wait_verdict(s.addr, "shop", "checkout", "verified/digest_match", LIMIT);
    let (_, _, m) = http_get(s.addr, "/metrics", None).unwrap();
    assert!(m.contains("deploy_verdict{namespace=\"shop\",deployment=\"checkout\",image=\"registry.example.com/shop/checkout:1.8.0\",verdict=\"verified\",cause=\"digest_match\",owner=\"none\"} 1"), "{m}");
    assert!(m.contains(
        "deploy_digest_match{namespace=\"shop\",deployment=\"checkout\",container=\"checkout\"} 1"
    ));
    assert!(m.contains(&format!("digest=\"{d}\"")));
    assert_eq!(
        metric(s.addr, "kube_verdict_log_fetches_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert!(
        m.contains("deploy_rollout_duration_seconds_count{namespace=\"shop\"} 1"),
        "{m}"
    );
    // exactly one deploy_verdict series per deployment
    assert_eq!(
        m.lines()
            .filter(|l| l.starts_with("deploy_verdict{"))
            .count(),
        1
    );
    let logs: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.contains("/log?"))
        .collect();
    assert_eq!(logs.len(), 1, "the log is fetched once: {logs:?}");
    assert!(
        logs[0].contains("limitBytes=") && logs[0].contains("tailLines="),
        "{logs:?}"
    );

    // Deleting the deployment removes its series, and the namespace's last Deployment gone
    // takes its rollout-duration series with it.
    fake.delete("Deployment", "shop", "checkout");
    wait_until("series removed", LIMIT, || {
        http_get(s.addr, "/metrics", None).is_some_and(|(_, _, m)| {
            !m.contains("deployment=\"checkout\"") && !m.contains("namespace=\"shop\"")
        })
    });
    assert_eq!(
        http_get(s.addr, "/api/v1/verdicts/shop/checkout", None)
            .unwrap()
            .0,
        404
    );
}

#[test]
fn stale_blocked_and_failed_deployments() {
    let fake = FakeApi::spawn();
    fake.apply(node("node-1"));
    // stale: the tag was rebuilt an hour ago, the pods still run the previous push
    let orders = format!("{REG}/shop/orders:latest");
    fake.apply(kaniko_pod(
        "ci",
        "build-orders",
        &orders,
        -3700,
        Some((0, -3600)),
    ));
    fake.set_log(
        "ci",
        "build-orders",
        "kaniko",
        &kaniko_log(
            &orders,
            &format!("{REG}/shop/orders"),
            &digest("orders-new"),
            90,
        ),
    );
    fake.apply(deployment("shop", "orders", &orders, 1, 1, -7200));
    fake.apply(replicaset("shop", "orders", "aaaa1111", 1, 1, -7200));
    fake.apply(pod_ready(
        "shop",
        "orders",
        "aaaa1111",
        0,
        &orders,
        &format!("{REG}/shop/orders@{}", digest("orders-old")),
        -7000,
    ));
    // blocked: unschedulable for 10 minutes
    let cart = format!("{REG}/shop/cart:2.0.0");
    let msg = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
    fake.apply(deployment("shop", "cart", &cart, 1, 0, -600));
    fake.apply(replicaset("shop", "cart", "bbbb2222", 1, 0, -600));
    fake.apply(pod_unscheduled(
        "shop", "cart", "bbbb2222", 0, &cart, -600, msg,
    ));
    fake.apply(pod_event(
        "shop",
        &pod_name("cart", "bbbb2222", 0),
        "FailedScheduling",
        msg,
        -598,
        -5,
        20,
        "default-scheduler",
    ));
    // failed: crash loop for 10 minutes
    let api = format!("{REG}/shop/api:3.1.0");
    fake.apply(deployment("shop", "api", &api, 1, 0, -600));
    fake.apply(replicaset("shop", "api", "cccc3333", 1, 0, -600));
    let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": at(-70), "finishedAt": at(-65)}});
    let mut p = pod_waiting(
        "shop",
        "api",
        "cccc3333",
        0,
        &api,
        "CrashLoopBackOff",
        -600,
        last,
    );
    p["status"]["containerStatuses"][0]["state"]["waiting"]["message"] =
        json!("back-off 5m0s restarting failed container=api");
    fake.apply(p);

    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(s.addr, "shop", "orders", "stale/digest_mismatch", LIMIT);
    wait_verdict(s.addr, "shop", "cart", "blocked/insufficient_cpu", LIMIT);
    wait_verdict(s.addr, "shop", "api", "failed/crash_loop", LIMIT);
    assert_eq!(
        metric(
            s.addr,
            "deploy_scheduling_blocker{namespace=\"shop\",deployment=\"cart\",reason=\"insufficient_cpu\",owner=\"infrastructure\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            s.addr,
            "deploy_digest_match{namespace=\"shop\",deployment=\"orders\",container=\"orders\"}"
        ),
        Some(0.0)
    );
    // ?namespace= filters
    let (_, _, body) = http_get(s.addr, "/api/v1/verdicts?namespace=other", None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["deployments"].as_array().unwrap().len(), 0);
    let (_, _, body) = http_get(s.addr, "/api/v1/verdicts?namespace=shop", None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["deployments"].as_array().unwrap().len(), 3);
}

#[test]
fn api_errors_throttling_dropped_watches_and_compaction_are_survived() {
    let fake = FakeApi::spawn();
    fake.faults(|f| {
        f.list_errors = 3;
        f.throttle = 2;
    });
    seed_start(&fake);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        Duration::from_secs(30),
    );
    assert!(metric_sum(s.addr, "kube_verdict_source_errors_total{resource=") >= 1.0);

    // Watches dropped: the client re-watches and still sees the next change. History
    // compacted: re-watching from an old resourceVersion gets 410 and relists. Health stays
    // honest throughout (sampled every 25 ms), and green once the truth is back.
    let witness = HealthWitness::start(s.addr);
    fake.drop_watches();
    std::thread::sleep(Duration::from_millis(300));
    fake.compact();
    seed_finish(&fake);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "verified/digest_match",
        Duration::from_secs(30),
    );
    wait_until("source up", LIMIT, || {
        metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}") == Some(1.0)
    });
    witness.finish();
    let restarts = metric_sum(s.addr, "kube_verdict_watch_restarts_total{resource=\"pod\"");
    assert!(
        restarts >= 2.0,
        "a relist after 410 counts as a restart ({restarts})"
    );
}

#[test]
fn forbidden_logs_degrade_to_digest_unavailable_and_malformed_objects_are_skipped() {
    let fake = FakeApi::spawn();
    fake.faults(|f| {
        f.logs_forbidden = true;
        // a slow API server: every answer takes 150 ms
        f.delay = Duration::from_millis(150);
    });
    seed_start(&fake);
    // A pod whose containers are not a list: it cannot be read, and must not end the watch.
    fake.apply(json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "broken", "namespace": "shop"},
        "spec": {"containers": "oops"}}));
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    seed_finish(&fake);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "complete/digest_unavailable",
        LIMIT,
    );
    wait_until("forbidden fetch counted", LIMIT, || {
        metric(
            s.addr,
            "kube_verdict_log_fetches_total{result=\"forbidden\"}",
        ) == Some(1.0)
    });
    assert_eq!(
        metric(
            s.addr,
            "kube_verdict_skipped_objects_total{resource=\"pod\"}"
        ),
        Some(1.0)
    );
    // the process is alive and still watching
    fake.apply(node("node-2"));
    wait_until("node-2 seen", LIMIT, || {
        metric(s.addr, "kube_verdict_cached_objects{resource=\"node\"}") == Some(2.0)
    });
}

#[test]
fn not_ready_until_listed_and_last_verdicts_served_while_the_api_is_down() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    fake.faults(|f| f.hold_lists = vec![Res::Events]);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    std::thread::sleep(Duration::from_millis(800));
    let (code, _, body) = http_get(s.addr, "/readyz", None).unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("Event"), "{body}");
    // Before the first list the verdict API says so (503), never an empty cluster.
    for path in ["/api/v1/verdicts/shop/checkout", "/api/v1/verdicts"] {
        let (code, _, body) = http_get(s.addr, path, None).unwrap();
        assert_eq!(code, 503, "{path}: {body}");
        assert!(body.contains("still listing Event"), "{path}: {body}");
    }
    // Every bounded counter is there from the start, at 0.
    let (_, _, m) = http_get(s.addr, "/metrics", None).unwrap();
    for series in [
        "kube_verdict_source_errors_total{resource=\"pod\",error=\"watch\"} 0",
        "kube_verdict_watch_events_total{resource=\"deployment\",type=\"delete\"} 0",
        "kube_verdict_log_fetches_total{result=\"error\"} 0",
        "kube_verdict_report_requests_total{endpoint=\"reports\",code=\"401\"} 0",
    ] {
        assert!(m.contains(series), "{series} missing:\n{m}");
    }
    assert_eq!(metric(s.addr, "kube_verdict_synced"), Some(0.0));
    fake.faults(|f| f.hold_lists.clear());
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    assert_eq!(http_get(s.addr, "/readyz", None).unwrap().0, 200);

    fake.faults(|f| f.down = true);
    wait_until("source down", LIMIT, || {
        metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}") == Some(0.0)
    });
    let (code, _, body) = http_get(s.addr, "/readyz", None).unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("source is down"), "{body}");
    assert_eq!(
        verdict_of(s.addr, "shop", "checkout").as_deref(),
        Some("converging/build_running")
    );
    // The frozen verdicts keep the time they were judged: never stamped as fresh.
    let judged = metric(s.addr, "kube_verdict_last_judged_timestamp_seconds");
    assert!(judged.is_some());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        metric(s.addr, "kube_verdict_last_judged_timestamp_seconds"),
        judged,
        "while the source is down the judged time stands still"
    );
    fake.faults(|f| f.down = false);
    wait_until("source up", Duration::from_secs(40), || {
        metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}") == Some(1.0)
    });
}

#[test]
fn live_check_and_check_wait() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let mut kc = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut kc, fake.kubeconfig().as_bytes()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
            // Registry lookups only where a test is about them: never off loopback.
            .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
            .args(args)
            .env("KUBECONFIG", kc.path())
            .output()
            .unwrap()
    };
    // A pod that cannot be read is skipped, and named among the warnings (as a dump's are).
    fake.apply(json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "broken", "namespace": "shop"},
        "spec": {"containers": "oops"}}));
    // Builds run in `ci`: a namespace-scoped check must include it to see them.
    let o = run(&["check", "-n", "shop", "-n", "ci", "-o", "json"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["deployments"][0]["cause"], "build_running");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("Pod shop/broken: skipped: "),
        "{warnings}"
    );
    let o = run(&["check", "-n", "shop", "-n", "ci"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Pod shop/broken: skipped: "), "{text}");
    fake.delete("Pod", "shop", "broken");

    // A namespace-scoped account cannot list Nodes: check judges without them, promptly, as
    // with --no-nodes (and --no-nodes itself never asks).
    fake.faults(|f| f.forbid = vec![Res::Nodes]);
    for args in [
        &["check", "-n", "shop", "-n", "ci", "-o", "json"][..],
        &[
            "check",
            "-n",
            "shop",
            "-n",
            "ci",
            "-o",
            "json",
            "--no-nodes",
        ][..],
    ] {
        let started = std::time::Instant::now();
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["deployments"][0]["cause"], "build_running", "{args:?}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
    fake.faults(|f| f.forbid.clear());

    // --now judges a dump, not the live cluster.
    let o = run(&["check", "--now", "2026-11-20T10:15:00Z"]);
    assert_eq!(o.status.code(), Some(2));

    let o = run(&["check", "deployment/missing"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing not found"));

    // --wait: the build finishes two seconds later; check exits 0 with the verified verdict.
    let fake2 = fake.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        seed_finish(&fake2);
    });
    let o = run(&[
        "check",
        "-A",
        "--wait",
        "--timeout",
        "30s",
        "deployment/checkout",
    ]);
    t.join().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("verified"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// An API server that cannot be reached (refused, or accepting and never answering) fails
/// `check` at once with one line naming the server and the error, as kubectl does: not after
/// `--timeout`, and not a line per retry.
#[test]
fn unreachable_api_fails_check_with_a_clear_message() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    for (server, says) in [
        ("http://127.0.0.1:9".to_string(), "onnection refused"),
        (format!("http://{silent_addr}"), "no answer within 10s"),
    ] {
        let kc = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster:\n    server: {server}\ncontexts:\n- name: x\n  context:\n    cluster: x\n    user: x\ncurrent-context: x\nusers:\n- name: x\n  user: {{}}\n"
        );
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, kc.as_bytes()).unwrap();
        let started = std::time::Instant::now();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
            // Registry lookups only where a test is about them: never off loopback.
            .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
            .args(["check", "-A", "--timeout", "60s"])
            .env("KUBECONFIG", f.path())
            .env_remove("KUBE_VERDICT_LOG")
            .output()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&format!("cannot reach the API server at {server}")) && err.contains(says),
            "{err}"
        );
        assert!(
            took < Duration::from_secs(30),
            "not after --timeout: {took:?}"
        );
    }
    drop(silent);
}

#[test]
fn a_forbidden_list_makes_verdicts_unknown_forbidden_until_rbac_is_fixed() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    fake.faults(|f| f.forbid = vec![Res::Jobs]);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(s.addr, "shop", "checkout", "unknown/forbidden", LIMIT);
    let (_, _, body) = http_get(s.addr, "/api/v1/verdicts/shop/checkout", None).unwrap();
    assert!(body.contains("may not list Job"), "{body}");
    assert_eq!(http_get(s.addr, "/readyz", None).unwrap().0, 503);
    fake.faults(|f| f.forbid.clear());
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        Duration::from_secs(40),
    );
}

/// A failure of one watch (pods) while every other watch and the `/version` probe are fine:
/// `source_up` is 0 and `/readyz` names the resource for as long as it fails, and both come back
/// after it heals (DESIGN §8: up only while every watch of every resource is healthy).
#[test]
fn a_partial_watch_failure_is_never_green() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    let up = || metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}");
    let pods_healthy = || metric(s.addr, "kube_verdict_watch_healthy{resource=\"pod\"}");
    wait_until("source up", LIMIT, || up() == Some(1.0));
    assert_eq!(pods_healthy(), Some(1.0));

    fake.faults(|f| f.watch_errors = vec![Res::Pods]);
    fake.drop_watches();
    wait_until("pods watch unhealthy", LIMIT, || {
        pods_healthy() == Some(0.0)
    });
    // Sampled for 5 s: never green while the pods watch keeps failing (the probe answers).
    for _ in 0..10 {
        assert_eq!(up(), Some(0.0), "source_up while the pods watch fails");
        assert_eq!(pods_healthy(), Some(0.0));
        assert_eq!(
            metric(
                s.addr,
                "kube_verdict_watch_healthy{resource=\"deployment\"}"
            ),
            Some(1.0),
            "the other watches stay healthy"
        );
        let (code, _, body) = http_get(s.addr, "/readyz", None).unwrap();
        assert_eq!(code, 200, "the last verdicts are still served");
        assert!(body.contains("unhealthy watches: pod"), "{body}");
        std::thread::sleep(Duration::from_millis(500));
    }

    fake.faults(|f| f.watch_errors.clear());
    wait_until("source up again", LIMIT, || up() == Some(1.0));
    assert_eq!(pods_healthy(), Some(1.0));
    assert_eq!(http_get(s.addr, "/readyz", None).unwrap().2, "ready\n");
}

/// An etcd restore: the API server comes back with lower resourceVersions, so resuming a watch
/// answers `504 Too large resource version`. kube-verdict lists again (counted as a restart) and
/// sees the change made meanwhile; a 410 sent as an HTTP status (not an ERROR event) after a
/// compaction is relisted at once too.
#[test]
fn resource_versions_going_backwards_and_410_statuses_relist() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    let restarts = || {
        metric_sum(
            s.addr,
            "kube_verdict_watch_restarts_total{resource=\"pod\",reason=\"expired\"}",
        )
    };
    let before = restarts();

    let witness = HealthWitness::start(s.addr);
    fake.restore(3);
    seed_finish(&fake);
    wait_verdict(s.addr, "shop", "checkout", "verified/digest_match", LIMIT);
    assert!(
        restarts() > before,
        "a relist after 'too large resource version'"
    );

    let before = restarts();
    fake.faults(|f| f.gone_as_status = true);
    fake.compact();
    fake.delete("Deployment", "shop", "checkout");
    wait_until("the deployment's verdict is gone", LIMIT, || {
        verdict_of(s.addr, "shop", "checkout").is_none()
    });
    assert!(restarts() > before, "a relist after an HTTP 410");
    wait_until("source up", LIMIT, || {
        metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}") == Some(1.0)
    });
    witness.finish();
}

/// pods/log answers 500 for its first tries (the kubelet behind the API server restarting): the
/// fetch is retried with backoff and counted, and while the digest is on its way the verdict
/// says so (`converging/digest_pending`), never a definite `complete/digest_unavailable`.
#[test]
fn a_failed_build_log_fetch_is_retried_and_pending_meanwhile() {
    let fake = FakeApi::spawn();
    fake.faults(|f| f.log_errors = 2);
    seed_start(&fake);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    // A failing log fetch is not a failing watch: the watches stay healthy (and say so),
    // while the verdict names the pending fetch.
    let witness = HealthWitness::start(s.addr);
    seed_finish(&fake);
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    loop {
        let v = verdict_of(s.addr, "shop", "checkout").unwrap_or_default();
        if seen.last() != Some(&v) {
            seen.push(v.clone());
        }
        if v == "verified/digest_match" {
            break;
        }
        assert!(start.elapsed() < LIMIT, "no verified verdict: {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !seen.iter().any(|v| v == "complete/digest_unavailable"),
        "a definite verdict while the log was still being fetched: {seen:?}"
    );
    assert!(
        seen.iter().any(|v| v == "converging/digest_pending"),
        "the pending fetch is named: {seen:?}"
    );
    assert_eq!(
        metric(s.addr, "kube_verdict_log_fetches_total{result=\"retry\"}"),
        Some(2.0)
    );
    assert_eq!(
        metric(s.addr, "kube_verdict_log_fetches_total{result=\"ok\"}"),
        Some(1.0)
    );
    let samples = witness.finish();
    assert!(
        samples.iter().all(|x| x.source_up == Some(1.0)),
        "the watches were healthy throughout"
    );
}

/// A watch that fails after the first list while `check --wait` waits: it never answers with
/// verdicts it could not bring up to date; it says why and exits 1. (A one-shot `check` that
/// finished its lists before the failure answers with them: they were whole and fresh.)
#[test]
fn check_never_answers_with_verdicts_a_failing_watch_froze() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    fake.faults(|f| f.watch_errors = vec![Res::Pods]);
    let mut kc = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut kc, fake.kubeconfig().as_bytes()).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
        // Registry lookups only where a test is about them: never off loopback.
        .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
        .args([
            "check",
            "-A",
            "--wait",
            "--timeout",
            "5s",
            "-o",
            "json",
            "deployment/checkout",
        ])
        .env("KUBECONFIG", kc.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not be read to the end"), "{stderr}");
    assert!(stderr.contains("pod"), "names the failing watch: {stderr}");
    assert!(o.stdout.is_empty(), "no report from frozen verdicts");
}

/// Issue 9 item 4: a list accepted but never answered, and a watch that stays open but sends
/// nothing, are noticed within the watch timeout and half again, counted as stalled restarts,
/// and unhealthy meanwhile; a change made during the silence is seen after the relist.
#[test]
fn hung_lists_and_silent_watches_are_noticed_and_listed_again() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    fake.faults(|f| f.hold_lists = vec![Res::Pods]);
    let s = serve(Some(&fake.kubeconfig()), &["--watch-timeout", "2s"]);
    let stalled = || {
        metric_sum(
            s.addr,
            "kube_verdict_watch_restarts_total{resource=\"pod\",reason=\"stalled\"}",
        )
    };
    wait_until("a hung list to be dropped", LIMIT, || {
        metric_sum(s.addr, "kube_verdict_source_errors_total{resource=\"pod\"") >= 1.0
    });
    let (code, _, body) = http_get(s.addr, "/readyz", None).unwrap();
    assert_eq!(code, 503, "{body}");
    fake.faults(|f| f.hold_lists.clear());
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    assert!(
        stalled() >= 1.0,
        "the hung list counts as a stalled restart"
    );

    // Watches of pods go silent: open, no event, no bookmark, never closed.
    fake.faults(|f| f.silent_watches = vec![Res::Pods]);
    fake.drop_watches();
    let before = stalled();
    wait_until("the silent watch to be noticed", LIMIT, || {
        metric(s.addr, "kube_verdict_watch_healthy{resource=\"pod\"}") == Some(0.0)
            || stalled() > before
    });
    seed_finish(&fake);
    wait_until("a stalled restart", LIMIT, || stalled() > before);
    fake.faults(|f| f.silent_watches.clear());
    wait_verdict(s.addr, "shop", "checkout", "verified/digest_match", LIMIT);
    wait_until("healthy again", LIMIT, || {
        metric(s.addr, "kube_verdict_watch_healthy{resource=\"pod\"}") == Some(1.0)
            && metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}") == Some(1.0)
    });
}

/// Issue 12 item 3: `check` takes kubectl's flags, so `kubectl verdict check --context prod`
/// works: `--kubeconfig`, `--context`, `--cluster`, `--user`, and the context's namespace as
/// the default of `-n` (`-A` for all).
#[test]
fn kubectl_flags_choose_the_cluster_and_the_namespace() {
    let with_builds = FakeApi::spawn();
    seed_start(&with_builds);
    let empty = FakeApi::spawn();
    let server = |f: &FakeApi| {
        f.kubeconfig()
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: ").map(str::to_string))
            .unwrap()
    };
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: {}\n- name: staging\n  cluster:\n    server: {}\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: u\n    namespace: shop\n- name: staging\n  context:\n    cluster: staging\n    user: u\n    namespace: shop\ncurrent-context: staging\nusers:\n- name: u\n  user:\n    token: t\n",
        server(&with_builds),
        server(&empty)
    );
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, kc.as_bytes()).unwrap();
    let path = f.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
            // Registry lookups only where a test is about them: never off loopback.
            .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
            .args([
                "check",
                "--kubeconfig",
                &path,
                "-o",
                "json",
                "--timeout",
                "20s",
            ])
            .args(args)
            .env("KUBECONFIG", "/nonexistent")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let names: Vec<String> = doc["deployments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| {
                        format!(
                            "{}/{}",
                            d["namespace"].as_str().unwrap(),
                            d["name"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        (
            o.status.code(),
            names,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // --context prod: the context's namespace (shop) is the default scope.
    let (code, names, err) = run(&["--context", "prod"]);
    assert_eq!(
        (code, names),
        (Some(3), vec!["shop/checkout".to_string()]),
        "{err}"
    );
    // The current context (staging) is an empty cluster: nothing judged, exit 3, scope named.
    let (code, names, err) = run(&[]);
    assert_eq!((code, names.len()), (Some(3), 0));
    assert!(
        err.contains("no Deployment in namespace shop of the cluster"),
        "{err}"
    );
    // --cluster overrides the context's cluster; -n overrides its namespace; -A takes all.
    let (_, names, err) = run(&["--cluster", "prod"]);
    assert_eq!(names, vec!["shop/checkout".to_string()], "{err}");
    let (code, names, _) = run(&["--context", "prod", "-n", "ci"]);
    assert_eq!((code, names.len()), (Some(3), 0));
    let (_, names, err) = run(&["--context", "prod", "-A"]);
    assert_eq!(names, vec!["shop/checkout".to_string()], "{err}");
    // A context, cluster or user the kubeconfig does not have is a clear error, as in kubectl
    // (an unknown user is not silently "no credentials").
    for (flag, what) in [
        ("--context", "context"),
        ("--cluster", "cluster"),
        ("--user", "user"),
    ] {
        let (code, _, err) = run(&[flag, "nope"]);
        assert_eq!(code, Some(1), "{flag}");
        assert!(
            err.contains(&format!("no {what} named \"nope\"")),
            "{flag}: {err}"
        );
    }
}

/// Events listed before the pods they are about are kept until the pods are listed: the
/// orphan pruning must not take an event older than its grace whose pod is still on its way
/// (found by replaying a dump on a real API server: a pull now and then read as `starting`,
/// or past a progress deadline as `failed`).
#[test]
fn events_listed_before_their_pods_are_kept() {
    let fake = FakeApi::spawn();
    fake.apply(node("node-1"));
    let image = format!("{REG}/ml/model:4.0.0");
    fake.apply(deployment("ml", "model", &image, 1, 0, -1200));
    fake.apply(replicaset("ml", "model", "h1", 1, 0, -1200));
    fake.apply(pod_waiting(
        "ml",
        "model",
        "h1",
        0,
        &image,
        "ContainerCreating",
        -1000,
        json!({}),
    ));
    // A pull of a big image, started 16 minutes ago and still going.
    fake.apply(pod_event(
        "ml",
        &pod_name("model", "h1", 0),
        "Pulling",
        &format!("Pulling image \"{image}\""),
        -960,
        -960,
        1,
        "kubelet",
    ));
    fake.faults(|f| f.hold_lists = vec![Res::Pods]);
    let s = serve(Some(&fake.kubeconfig()), &[]);
    // Every kind but pods is listed and a few full recomputes (with pruning) pass.
    wait_until("events listed", LIMIT, || {
        metric(s.addr, "kube_verdict_cached_objects{resource=\"event\"}") == Some(1.0)
    });
    std::thread::sleep(Duration::from_secs(2));
    fake.faults(|f| f.hold_lists.clear());
    wait_verdict(s.addr, "ml", "model", "converging/pulling_image", LIMIT);
    assert_eq!(
        metric(s.addr, "kube_verdict_cached_objects{resource=\"event\"}"),
        Some(1.0)
    );
}

/// Access to Nodes lost after the first list (a ClusterRoleBinding removed) is a failing watch
/// like any other: unhealthy, named by /readyz, retried, and healthy again once access is back,
/// never a node view frozen behind green health.
#[test]
fn nodes_forbidden_after_the_first_list_are_unhealthy_until_access_returns() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let s = serve(Some(&fake.kubeconfig()), &["--watch-timeout", "2s"]);
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        LIMIT,
    );
    fake.faults(|f| f.forbid = vec![Res::Nodes]);
    fake.drop_watches();
    wait_until("nodes unhealthy", LIMIT, || {
        metric(s.addr, "kube_verdict_watch_healthy{resource=\"node\"}") == Some(0.0)
    });
    assert_eq!(
        metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}"),
        Some(0.0)
    );
    let (_, _, body) = http_get(s.addr, "/readyz", None).unwrap();
    assert!(
        body.contains("unhealthy watches: node: ") && body.contains("HTTP 403 Forbidden"),
        "/readyz names the failing watch and the API server's answer: {body}"
    );
    assert!(!body.contains("Status {"), "no client debug dump: {body}");
    fake.faults(|f| f.forbid.clear());
    wait_until("healthy again", LIMIT, || {
        metric(s.addr, "kube_verdict_watch_healthy{resource=\"node\"}") == Some(1.0)
            && metric(s.addr, "kube_verdict_source_up{source=\"api-server\"}") == Some(1.0)
    });
}

/// TaskRun objects are watched when discovery serves tekton.dev/v1 (never an error when it does
/// not), a TaskRun's IMAGE_DIGEST result is the build of its IMAGE_URL, and the same objects in a
/// dump (`kubectl get taskruns -A -o json` beside the rest) give the same verdict.
#[test]
fn task_run_objects_are_builds_when_the_tekton_api_exists() {
    let fake = FakeApi::spawn();
    let image = format!("{REG}/shop/web:1.0");
    let d = digest("web-1.0");
    let objects = vec![
        node("node-1"),
        deployment("shop", "web", &image, 1, 1, -3600),
        replicaset("shop", "web", "7d9f8c6b5", 1, 1, -3600),
        pod_ready(
            "shop",
            "web",
            "7d9f8c6b5",
            0,
            &image,
            &format!("{REG}/shop/web@{d}"),
            -3500,
        ),
        task_run("ci", "build-web-x7k2p", &image, &d, -3550),
    ];
    for o in &objects[..4] {
        fake.apply(o.clone());
    }
    let mut kc = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut kc, fake.kubeconfig().as_bytes()).unwrap();
    let check = |args: &[&str]| -> serde_json::Value {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
            .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
            .args(["check", "-o", "json"])
            .args(args)
            .env("KUBECONFIG", kc.path())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        v["deployments"][0].clone()
    };
    // No Tekton API: nothing waits for it, nothing fails.
    let started = std::time::Instant::now();
    let none = check(&["-A", "--timeout", "20s"]);
    assert_eq!(none["cause"], "no_build_known", "{none:#}");
    assert!(started.elapsed() < Duration::from_secs(10));

    fake.faults(|f| f.tekton_api = true);
    fake.apply(objects[4].clone());
    let live = check(&["-A", "--timeout", "20s"]);
    assert_eq!(
        (live["verdict"].as_str(), live["cause"].as_str()),
        (Some("verified"), Some("digest_match")),
        "{live:#}"
    );
    let b = &live["containers"][0]["build"];
    assert_eq!(b["builder"], "tekton");
    assert_eq!(b["pod"], "TaskRun ci/build-web-x7k2p");
    assert!(
        live["evidence"]
            .to_string()
            .contains("TaskRun ci/build-web-x7k2p reported result IMAGE_DIGEST"),
        "{live:#}"
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("/apis/tekton.dev/v1/taskruns")),
        "TaskRuns were listed"
    );

    // RBAC without taskruns: judged without them, never unknown/forbidden.
    fake.faults(|f| f.forbid = vec![Res::TaskRuns]);
    let forbidden = check(&["-A", "--timeout", "20s"]);
    assert_eq!(forbidden["cause"], "no_build_known", "{forbidden:#}");
    fake.faults(|f| f.forbid.clear());

    // Discovery failing (an aggregated API whose service is down) never blocks the sync.
    fake.faults(|f| f.tekton_discovery_error = true);
    let started = std::time::Instant::now();
    let failing = check(&["-A", "--timeout", "20s"]);
    assert_eq!(failing["cause"], "no_build_known", "{failing:#}");
    assert!(started.elapsed() < Duration::from_secs(15));
    fake.faults(|f| f.tekton_discovery_error = false);

    // serve watching TaskRuns, then the CRD is deleted: the watch gets 404, the TaskRuns are
    // forgotten, and serve stays healthy and keeps judging (nothing is frozen).
    let served = serve(Some(&fake.kubeconfig()), &[]);
    wait_verdict(served.addr, "shop", "web", "verified/digest_match", LIMIT);
    fake.faults(|f| f.tekton_api = false);
    fake.drop_watches();
    wait_verdict(served.addr, "shop", "web", "complete/no_build_known", LIMIT);
    fake.apply(deployment("shop", "later", &image, 1, 1, -60));
    wait_until(
        "a Deployment created after the CRD went is judged",
        LIMIT,
        || verdict_of(served.addr, "shop", "later").is_some(),
    );
    assert_eq!(metric(served.addr, "kube_verdict_source_up"), Some(1.0));
    drop(served);
    fake.faults(|f| f.tekton_api = true);

    // The same objects as a dump: a List file with every kind, TaskRun included.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("all.json"),
        json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string(),
    )
    .unwrap();
    let offline = check(&["--dump", dir.path().to_str().unwrap()]);
    assert_eq!(offline["verdict"], live["verdict"], "{offline:#}");
    assert_eq!(
        offline["containers"][0]["build"],
        live["containers"][0]["build"]
    );
}
