//! The whole chain, as in production: the fake API server, `kube-verdict serve`, a real
//! Prometheus evaluating alerts/rules.yaml, a real Alertmanager with alerts/alertmanager.yaml
//! (receivers pointed at a capture webhook and at kube-verdict), and the platform's failure alert.
//!
//! 1. The seed false alarm: the platform alert posted while the build runs is inhibited by
//!    DeploymentConverging, stays inhibited once DeploymentVerified fires, never reaches a team,
//!    and kube-verdict (polling Alertmanager, which sees inhibited alerts) counts one false
//!    negative. Every dashboard query then runs against this Prometheus.
//! 2. Image pull unauthorized: the platform alert goes through, and DeploymentBlocked with
//!    owner="platform" reaches the platform team's receiver.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::fake_api::FakeApi;
use support::objects::*;
use support::*;

const TOKEN: &str = "chain-token";

/// A webhook receiver that records what each team receives.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<BTreeMap<String, Vec<Value>>>>);

impl Capture {
    fn start() -> (Capture, SocketAddr) {
        let cap = Capture::default();
        let c2 = cap.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().route(
                    "/teams/{team}",
                    axum::routing::post(
                        |axum::extract::State(c): axum::extract::State<Capture>,
                         axum::extract::Path(team): axum::extract::Path<String>,
                         body: axum::body::Bytes| async move {
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            c.0.lock().unwrap().entry(team).or_default().push(v);
                            "ok"
                        },
                    ),
                );
                axum::serve(l, app.with_state(c2)).await.unwrap();
            });
        });
        (cap, rx.recv().unwrap())
    }

    /// Alert names a team received, with their labels.
    fn received(&self, team: &str) -> Vec<BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap()
            .get(team)
            .map(|v| {
                v.iter()
                    .flat_map(|p| p["alerts"].as_array().cloned().unwrap_or_default())
                    .map(|a| serde_json::from_value(a["labels"].clone()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Stack {
    _dir: tempfile::TempDir,
    _prom: KillOnDrop,
    _am: KillOnDrop,
    prom: SocketAddr,
    am: SocketAddr,
    kv: Served,
    capture: Capture,
}

fn start_stack(fake: &FakeApi) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let (capture, cap_addr) = Capture::start();
    let am_port = free_port();
    let am: SocketAddr = format!("127.0.0.1:{am_port}").parse().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();

    let kv = serve(
        Some(&fake.kubeconfig()),
        &[
            "--token-file",
            token.to_str().unwrap(),
            "--alertmanager-url",
            &format!("http://{am}"),
            "--alertmanager-poll-interval",
            "1s",
        ],
    );

    // The shipped Alertmanager config, with receivers pointed at the test and short group waits.
    let mut cfg = std::fs::read_to_string(format!(
        "{}/alerts/alertmanager.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    cfg = cfg
        .replace(
            "http://alert-router.monitoring.svc:8080",
            &format!("http://{cap_addr}"),
        )
        .replace(
            "http://kube-verdict.kube-verdict.svc:8080",
            &format!("http://{}", kv.addr),
        )
        .replace(
            "/etc/alertmanager/secrets/kube-verdict-token/token",
            token.to_str().unwrap(),
        )
        .replace("group_wait: 30s", "group_wait: 1s")
        .replace("group_interval: 5m", "group_interval: 1s");
    let am_cfg = dir.path().join("alertmanager.yaml");
    std::fs::write(&am_cfg, cfg).unwrap();
    let am_guard = start_alertmanager(dir.path(), &am_cfg, am);
    let (prom_guard, prom) = start_prometheus(
        dir.path(),
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{}/alerts/rules.yaml']\nalerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{am}']\nscrape_configs:\n- job_name: kube-verdict\n  static_configs:\n  - targets: ['{}']\n",
            env!("CARGO_MANIFEST_DIR"),
            kv.addr
        ),
    );
    Stack {
        _dir: dir,
        _prom: prom_guard,
        _am: am_guard,
        prom,
        am,
        kv,
        capture,
    }
}

/// Active alerts in Alertmanager with a label set, and whether each is inhibited.
fn am_alerts(am: SocketAddr, alertname: &str) -> Vec<(BTreeMap<String, String>, bool)> {
    let path = format!("/api/v2/alerts?filter=alertname%3D%22{alertname}%22");
    let Some((200, _, body)) = http_get(am, &path, None) else {
        return vec![];
    };
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                serde_json::from_value(a["labels"].clone()).unwrap_or_default(),
                !a["status"]["inhibitedBy"]
                    .as_array()
                    .map(|x| x.is_empty())
                    .unwrap_or(true),
            )
        })
        .collect()
}

fn post_platform_alert(am: SocketAddr, deployment: &str, image: &str) {
    let body = json!([{"labels": {"alertname": "PlatformDeploymentFailed", "namespace": "shop", "deployment": deployment,
        "image": image, "platform": "paas", "severity": "critical"},
        "startsAt": jiff::Timestamp::now().to_string(), "generatorURL": "http://paas.example.com/deploys/4711"}]);
    let (code, text) = http_post(am, "/api/v2/alerts", &[], body.to_string().as_bytes()).unwrap();
    assert_eq!(code, 200, "{text}");
}

fn all_tools() -> bool {
    ["prometheus", "prometheus-alertmanager"]
        .iter()
        .all(|t| require_tool(t))
}

/// Every dashboard query runs against Prometheus; the state panels return data.
fn check_dashboards(prom: SocketAddr) {
    let dir = format!("{}/dashboards", env!("CARGO_MANIFEST_DIR"));
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                let expr = t["expr"].as_str().unwrap();
                let q = expr
                    .replace("=~\"$namespace\"", "=~\".*\"")
                    .replace("=\"$namespace\"", "=\"shop\"")
                    .replace("=\"$deployment\"", "=\"checkout\"")
                    .replace("=~\"$platform\"", "=~\".*\"");
                let url = format!(
                    "/api/v1/query?query={}",
                    kube_verdict::sources::alertmanager::encode_query(&q)
                );
                let (code, _, body) = http_get(prom, &url, None).unwrap();
                assert_eq!(code, 200, "{}: {expr}: {body}", path.display());
                let v: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["status"], "success", "{expr}: {body}");
                let state = [
                    "deploy_verdict",
                    "deploy_build_info",
                    "kube_verdict_cached_objects",
                    "kube_verdict_synced",
                    "platform_failure_reports_total",
                ];
                if state.iter().any(|m| expr.contains(m))
                    && !expr.contains("== 0")
                    && !expr.contains("stale|blocked")
                {
                    assert!(
                        !v["data"]["result"].as_array().unwrap().is_empty(),
                        "{}: {expr} returned no data",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn seed_false_alarm_is_muted_and_counted_and_dashboards_have_data() {
    if !all_tools() {
        return;
    }
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let image = SEED_IMAGE;
    let s = start_stack(&fake);

    // The cluster converges: DeploymentConverging reaches Alertmanager.
    wait_until(
        "DeploymentConverging in Alertmanager",
        Duration::from_secs(60),
        || !am_alerts(s.am, "DeploymentConverging").is_empty(),
    );
    // 60 s into the seed: the platform gives up and alerts.
    post_platform_alert(s.am, "checkout", image);
    wait_until("platform alert inhibited", Duration::from_secs(30), || {
        am_alerts(s.am, "PlatformDeploymentFailed")
            .iter()
            .any(|(_, inh)| *inh)
    });

    // 90 s: the push; 110 s: the pod runs the pushed digest.
    seed_finish(&fake);
    wait_verdict(
        s.kv.addr,
        "shop",
        "checkout",
        "verified/digest_match",
        Duration::from_secs(30),
    );
    wait_until(
        "DeploymentVerified in Alertmanager",
        Duration::from_secs(60),
        || !am_alerts(s.am, "DeploymentVerified").is_empty(),
    );
    let platform = am_alerts(s.am, "PlatformDeploymentFailed");
    assert!(
        platform.iter().all(|(_, inh)| *inh),
        "still muted, now by DeploymentVerified: {platform:?}"
    );
    wait_until("false negative counted", Duration::from_secs(30), || {
        metric(
            s.kv.addr,
            "platform_false_negative_total{platform=\"paas\"}",
        ) == Some(1.0)
    });
    assert_eq!(
        metric(
            s.kv.addr,
            "platform_failure_reports_total{platform=\"paas\"}"
        ),
        Some(1.0),
        "polled every second, counted once"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        s.capture
            .received("application")
            .iter()
            .all(|l| l.get("alertname").map(String::as_str) != Some("PlatformDeploymentFailed")),
        "the false alarm never reached a team"
    );
    // Prometheus has the platform counters and recording rules now: run every dashboard query.
    wait_until("platform counters scraped", Duration::from_secs(30), || {
        http_get(
            s.prom,
            "/api/v1/query?query=platform_false_negative_total",
            None,
        )
        .is_some_and(|(_, _, b)| b.contains("paas"))
    });
    check_dashboards(s.prom);
}

#[test]
fn pull_unauthorized_goes_to_the_platform_team() {
    if !all_tools() {
        return;
    }
    let fake = FakeApi::spawn();
    fake.apply(node("node-1"));
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4.2";
    fake.apply(deployment("shop", "api", image, 1, 0, -900));
    fake.apply(replicaset("shop", "api", "aa11bb22", 1, 0, -900));
    fake.apply(pod_waiting(
        "shop",
        "api",
        "aa11bb22",
        0,
        image,
        "ImagePullBackOff",
        -900,
        json!({}),
    ));
    fake.apply(pod_event("shop", &pod_name("api", "aa11bb22", 0), "Failed",
        &format!("Failed to pull image \"{image}\": failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": unexpected status from HEAD request to https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/api/manifests/1.4.2: 401 Unauthorized"),
        -890, -5, 30, "kubelet"));
    let s = start_stack(&fake);
    wait_verdict(
        s.kv.addr,
        "shop",
        "api",
        "blocked/image_pull_unauthorized",
        Duration::from_secs(30),
    );
    post_platform_alert(s.am, "api", image);
    // The platform was right: its alert is not muted and reaches the team it routes to.
    wait_until("platform alert delivered", Duration::from_secs(60), || {
        s.capture
            .received("application")
            .iter()
            .any(|l| l.get("alertname").map(String::as_str) == Some("PlatformDeploymentFailed"))
    });
    assert!(
        am_alerts(s.am, "PlatformDeploymentFailed")
            .iter()
            .all(|(_, inh)| !inh)
    );
    // kube-verdict heard of it twice (its webhook receiver, and polling): one report, and the
    // cluster confirms it once the window ends.
    wait_until(
        "webhook delivered to kube-verdict",
        Duration::from_secs(60),
        || {
            metric(s.kv.addr, "kube_verdict_report_requests_total{endpoint=\"alertmanager_webhook\",code=\"200\"}").unwrap_or(0.0) >= 1.0
        },
    );
    assert_eq!(
        metric(
            s.kv.addr,
            "platform_failure_reports_total{platform=\"paas\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            s.kv.addr,
            "platform_false_negative_total{platform=\"paas\"}"
        ),
        None
    );
    // DeploymentBlocked (for: 1m) reaches the platform team with owner=platform.
    wait_until(
        "DeploymentBlocked at the platform team",
        Duration::from_secs(120),
        || {
            s.capture.received("platform").iter().any(|l| {
                l.get("alertname").map(String::as_str) == Some("DeploymentBlocked")
                    && l.get("owner").map(String::as_str) == Some("platform")
            })
        },
    );
}
