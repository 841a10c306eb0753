//! Alerts are code: `alerts/rules.yaml` passes `promtool check rules` and its unit tests (both
//! edges of every `for:`), every alert links to its runbook section and uses only exported
//! metrics; `alerts/alertmanager.yaml` passes `amtool check-config`, routes by owner, and a real
//! Alertmanager inhibits the platform's failure alert exactly when it should.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn rules() -> Vec<serde_yaml::Value> {
    let doc: serde_yaml::Value = serde_yaml::from_str(&read("alerts/rules.yaml")).unwrap();
    doc["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().clone())
        .collect()
}

#[test]
fn rules_pass_promtool_and_their_unit_tests() {
    if !require_tool("promtool") {
        return;
    }
    let (ok, out) = run_tool("promtool", &["check", "rules", "alerts/rules.yaml"]);
    assert!(ok, "{out}");
    let tests: Vec<String> =
        std::fs::read_dir(format!("{}/tests/alerts", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| format!("tests/alerts/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|p| p.ends_with(".test.yaml"))
            .collect();
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let (ok, out) = run_tool("promtool", &args);
    assert!(ok, "{out}");
}

#[test]
fn every_alert_has_a_runbook_section_a_test_and_the_right_labels() {
    let runbook = read("alerts/RUNBOOK.md").to_lowercase();
    let unit_tests: String =
        std::fs::read_dir(format!("{}/tests/alerts", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
    let recorded: BTreeSet<String> = rules()
        .iter()
        .filter_map(|r| r["record"].as_str().map(String::from))
        .collect();
    let mut alerts = 0;
    for r in rules() {
        let expr = r["expr"].as_str().unwrap();
        for m in metric_names(expr) {
            assert!(
                EXPORTED_METRICS.contains(&m.as_str()) || recorded.contains(&m),
                "{expr}: uses {m}, which kube-verdict does not export"
            );
        }
        let Some(name) = r["alert"].as_str() else {
            continue;
        };
        alerts += 1;
        let url = r["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no runbook_url"));
        let anchor = url
            .rsplit_once("RUNBOOK.md#")
            .map(|(_, a)| a)
            .unwrap_or_else(|| panic!("{name}: {url}"));
        assert!(
            runbook.contains(&format!("\n## {anchor}"))
                || runbook
                    .lines()
                    .any(|l| l.starts_with("## ") && l[3..].replace(' ', "") == anchor),
            "{name}: RUNBOOK.md has no section #{anchor}"
        );
        assert!(
            unit_tests.contains(&format!("alertname: {name}")),
            "{name}: no promtool unit test"
        );
        if name.starts_with("Deployment") {
            for l in ["namespace", "deployment", "image"] {
                assert!(expr.contains(l), "{name} must keep the {l} label");
            }
        }
        if ["DeploymentConverging", "DeploymentVerified"].contains(&name) {
            assert_eq!(r["for"].as_str(), Some("0m"));
            assert_eq!(r["labels"]["severity"].as_str(), Some("none"));
        }
        if name == "DeploymentBlocked" {
            assert!(expr.contains("owner") && expr.contains("cause"));
        }
    }
    assert!(alerts >= 11, "{alerts} alerts");
}

#[test]
fn alertmanager_config_is_valid_and_routes_by_owner() {
    if !require_tool("amtool") {
        return;
    }
    let (ok, out) = run_tool("amtool", &["check-config", "alerts/alertmanager.yaml"]);
    assert!(ok, "{out}");
    for (labels, receiver) in [
        (
            vec!["alertname=DeploymentBlocked", "owner=infrastructure"],
            "infrastructure-team",
        ),
        (
            vec!["alertname=DeploymentBlocked", "owner=platform"],
            "platform-team",
        ),
        (
            vec!["alertname=DeploymentBlocked", "owner=application"],
            "application-team",
        ),
        (vec!["alertname=DeploymentConverging"], "null"),
        (vec!["alertname=DeploymentVerified"], "null"),
        (
            vec!["alertname=PlatformDeploymentFailed", "namespace=shop"],
            "kube-verdict,application-team",
        ),
        (vec!["alertname=KubeVerdictDown"], "platform-team"),
    ] {
        let mut args = vec![
            "config",
            "routes",
            "test",
            "--config.file=alerts/alertmanager.yaml",
        ];
        args.extend(labels.iter().copied());
        let (_, out) = run_tool("amtool", &args);
        assert_eq!(
            out.lines().next().unwrap_or_default().trim(),
            receiver,
            "{labels:?}"
        );
    }
}

fn post_alerts(addr: std::net::SocketAddr, alerts: &Value) {
    let (code, body) =
        http_post(addr, "/api/v2/alerts", &[], alerts.to_string().as_bytes()).unwrap();
    assert_eq!(code, 200, "{body}");
}

fn alert(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = serde_json::Map::new();
    l.insert("alertname".into(), json!(name));
    for (k, v) in labels {
        l.insert((*k).into(), json!(v));
    }
    json!({"labels": l, "startsAt": jiff::Timestamp::now().to_string(), "generatorURL": "http://test/"})
}

/// The `inhibitedBy` of the platform alert carrying `marker=<m>`.
fn inhibited(addr: std::net::SocketAddr, marker: &str) -> Option<bool> {
    let (_, _, body) = http_get(
        addr,
        "/api/v2/alerts?filter=alertname%3D%22PlatformDeploymentFailed%22",
        None,
    )?;
    let v: Value = serde_json::from_str(&body).ok()?;
    let a = v
        .as_array()?
        .iter()
        .find(|a| a["labels"]["marker"] == marker)?;
    Some(!a["status"]["inhibitedBy"].as_array()?.is_empty())
}

#[test]
fn a_real_alertmanager_inhibits_the_platform_alert_only_while_the_cluster_says_so() {
    if !require_tool("prometheus-alertmanager") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = std::path::PathBuf::from(format!(
        "{}/alerts/alertmanager.yaml",
        env!("CARGO_MANIFEST_DIR")
    ));
    let _am = start_alertmanager(dir.path(), &config, addr);

    let img = "registry.example.com/shop/checkout:1.8.0";
    post_alerts(
        addr,
        &json!([
            // converging on the same image: muted
            alert(
                "DeploymentConverging",
                &[
                    ("namespace", "shop"),
                    ("deployment", "checkout"),
                    ("image", img),
                    ("cause", "build_running"),
                    ("severity", "none")
                ]
            ),
            alert(
                "PlatformDeploymentFailed",
                &[
                    ("namespace", "shop"),
                    ("deployment", "checkout"),
                    ("image", img),
                    ("platform", "paas"),
                    ("marker", "same-image")
                ]
            ),
            // verified on last week's image: this week's failure goes through
            alert(
                "DeploymentVerified",
                &[
                    ("namespace", "shop"),
                    ("deployment", "cart"),
                    ("image", "registry.example.com/shop/cart:1.0"),
                    ("cause", "digest_match"),
                    ("severity", "none")
                ]
            ),
            alert(
                "PlatformDeploymentFailed",
                &[
                    ("namespace", "shop"),
                    ("deployment", "cart"),
                    ("image", "registry.example.com/shop/cart:2.0"),
                    ("platform", "paas"),
                    ("marker", "other-image")
                ]
            ),
            // no image on the platform alert: judged on the deployment
            alert(
                "DeploymentVerified",
                &[
                    ("namespace", "shop"),
                    ("deployment", "search"),
                    ("image", "registry.example.com/shop/search:4.2"),
                    ("cause", "digest_match"),
                    ("severity", "none")
                ]
            ),
            alert(
                "PlatformDeploymentFailed",
                &[
                    ("namespace", "shop"),
                    ("deployment", "search"),
                    ("platform", "ci"),
                    ("marker", "no-image")
                ]
            ),
            // blocked: the platform is right, nothing mutes it
            alert(
                "DeploymentBlocked",
                &[
                    ("namespace", "shop"),
                    ("deployment", "api"),
                    ("image", "registry.example.com/shop/api:3.0"),
                    ("cause", "image_pull_unauthorized"),
                    ("owner", "platform"),
                    ("severity", "warning")
                ]
            ),
            alert(
                "PlatformDeploymentFailed",
                &[
                    ("namespace", "shop"),
                    ("deployment", "api"),
                    ("image", "registry.example.com/shop/api:3.0"),
                    ("platform", "paas"),
                    ("marker", "blocked")
                ]
            ),
            // a source alert without a deployment label must not mute everything
            alert(
                "DeploymentConverging",
                &[
                    ("namespace", "shop"),
                    ("cause", "build_running"),
                    ("severity", "none")
                ]
            ),
            alert(
                "PlatformDeploymentFailed",
                &[
                    ("namespace", "shop"),
                    ("deployment", "orders"),
                    ("platform", "ci"),
                    ("marker", "unrelated")
                ]
            ),
        ]),
    );
    let mut last = Vec::new();
    let expected = [
        ("same-image", true),
        ("other-image", false),
        ("no-image", true),
        ("blocked", false),
        ("unrelated", false),
    ];
    let ok = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        last = expected.iter().map(|(m, _)| inhibited(addr, m)).collect();
        last.iter()
            .zip(expected.iter())
            .all(|(got, (_, want))| *got == Some(*want))
    });
    assert!(
        ok,
        "inhibitedBy per platform alert {expected:?}: got {last:?}"
    );
}

#[test]
fn metric_name_extraction_ignores_label_values() {
    let n = metric_names(
        "max by (x) (deploy_verdict{verdict=\"converging\", cause=\"platform_x\"}) / rate(platform_false_negative_total[5m])",
    );
    assert_eq!(
        n.into_iter().collect::<Vec<_>>(),
        vec!["deploy_verdict", "platform_false_negative_total"]
    );
}
