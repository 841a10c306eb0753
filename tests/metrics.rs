//! `/metrics` as a scraper sees it: golden expositions (Prometheus text 0.0.4 and OpenMetrics)
//! of `serve --dump`, `promtool check metrics` on them, and a real Prometheus scraping `serve`
//! and answering a query for `deploy_verdict`.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

fn dump_dir(name: &str) -> String {
    root()
        .join("tests/fixtures/scenarios")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The exposition with the samples of each family sorted: a family's series come out of a hash
/// map, in an order that changes from process to process.
fn canonical(text: &str) -> String {
    let mut out = String::new();
    let mut samples: Vec<&str> = Vec::new();
    let flush = |out: &mut String, samples: &mut Vec<&str>| {
        samples.sort_unstable();
        for l in samples.drain(..) {
            out.push_str(l);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut out, &mut samples);
            out.push_str(line);
            out.push('\n');
        } else {
            samples.push(line);
        }
    }
    flush(&mut out, &mut samples);
    out
}

#[test]
fn exposition_goldens_pass_promtool() {
    for scenario in [
        "blocked-capacity",
        "stale-digest-mismatch",
        "failed-application",
    ] {
        let s = serve(None, &["--dump", &dump_dir(scenario)]);
        let (code, head, text) = http_get(s.addr, "/metrics", None).unwrap();
        assert_eq!(code, 200);
        assert!(
            head.to_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        // Label values are bounded enums, never messages.
        for l in text.lines().filter(|l| l.starts_with("deploy_")) {
            assert!(
                !l.contains("available:") && !l.contains("Back-off") && !l.contains("Failed to"),
                "{l}"
            );
        }
        golden(&format!("metrics-{scenario}.prom"), &canonical(&text));
        let (_, head, om) = http_get(
            s.addr,
            "/metrics",
            Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
        )
        .unwrap();
        assert!(head.contains("application/openmetrics-text"), "{head}");
        assert!(om.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        golden(&format!("metrics-{scenario}.om.txt"), &canonical(&om));

        if require_tool("promtool") {
            let mut child = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool check metrics: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn every_exported_metric_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let s = serve(None, &["--dump", &dump_dir("blocked-capacity")]);
    let (_, _, text) = http_get(s.addr, "/metrics", None).unwrap();
    let exposed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for n in &exposed {
        assert!(
            EXPORTED_METRICS.contains(n),
            "{n} is exposed but missing from support::EXPORTED_METRICS"
        );
    }
    let names: Vec<&str> = EXPORTED_METRICS.to_vec();
    for n in names {
        assert!(
            readme.contains(&format!("`{n}`")),
            "metric {n} is not documented in README.md"
        );
    }
}

/// `serve --dump` counts the objects it skipped as the live source does: a malformed pod (and
/// a malformed Deployment, in a `List` of both) in `kube_verdict_skipped_objects_total`, by
/// resource; a well-formed pod beside it is read.
#[test]
fn serve_dump_counts_malformed_objects_as_skipped_by_resource() {
    let dir = tempfile::tempdir().unwrap();
    let ns = dir.path().join("broken");
    std::fs::create_dir(&ns).unwrap();
    std::fs::write(
        ns.join("pods.json"),
        r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[
            {"metadata":{"name":"a","namespace":"broken"},"spec":{"containers":"not-a-list"}},
            {"metadata":{"name":"b","namespace":"broken"},"spec":{"containers":[{"name":"c","image":"x"}]}}
        ]}"#,
    )
    .unwrap();
    std::fs::write(
        ns.join("more.json"),
        r#"{"kind":"List","apiVersion":"v1","items":[
            {"kind":"Pod","apiVersion":"v1","metadata":{"name":"c","namespace":"broken"},"status":{"containerStatuses":7}},
            {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d","namespace":"broken"},"spec":{"replicas":"two"}}
        ]}"#,
    )
    .unwrap();
    let s = serve(None, &["--dump", &dir.path().to_string_lossy()]);
    let skipped = |resource: &str| {
        metric(
            s.addr,
            &format!("kube_verdict_skipped_objects_total{{resource=\"{resource}\"}}"),
        )
    };
    assert_eq!(skipped("pod"), Some(2.0));
    assert_eq!(skipped("deployment"), Some(1.0));
    assert_eq!(skipped("event"), Some(0.0));
    assert_eq!(
        metric(s.addr, "kube_verdict_cached_objects{resource=\"pod\"}"),
        Some(1.0)
    );
}

#[test]
fn a_real_prometheus_scrapes_serve_and_answers_for_deploy_verdict() {
    if !require_tool("prometheus") {
        return;
    }
    let s = serve(None, &["--dump", &dump_dir("blocked-placement")]);
    let dir = tempfile::tempdir().unwrap();
    let (_prom, addr) = start_prometheus(
        dir.path(),
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n- job_name: kube-verdict\n  static_configs:\n  - targets: ['{}']\n",
            s.addr
        ),
    );
    let query = "/api/v1/query?query=deploy_verdict%7Bverdict%3D%22blocked%22%2Cowner%3D%22application%22%7D";
    let mut last = String::new();
    let found = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        match http_get(addr, query, None) {
            Some((200, _, body)) => {
                last = body.clone();
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                v["data"]["result"].as_array().is_some_and(|r| r.len() == 5)
            }
            _ => false,
        }
    });
    assert!(
        found,
        "Prometheus never returned the 5 application-owned blocked deployments: {last}"
    );
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    let causes: std::collections::BTreeSet<String> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"]["cause"].as_str().unwrap().to_string())
        .collect();
    assert!(
        causes.contains("no_free_ports") && causes.contains("topology_spread_mismatch"),
        "{causes:?}"
    );
}
