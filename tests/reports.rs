//! Platform failure reports: the authenticated report and webhook endpoints, their error
//! answers, deduplication, and the judging of reports against the cluster (DESIGN §9).

mod support;

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use support::fake_api::FakeApi;
use support::*;

const TOKEN: &str = "s3cret-token";

fn token_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "{TOKEN}").unwrap();
    f
}

fn auth() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

#[test]
fn report_endpoint_authenticates_bounds_and_validates() {
    let tf = token_file();
    let dump = format!("{}/examples/false-alarm", env!("CARGO_MANIFEST_DIR"));
    let s = serve(
        None,
        &[
            "--dump",
            &dump,
            "--token-file",
            tf.path().to_str().unwrap(),
            "--max-body-bytes",
            "400",
        ],
    );
    let body = json!({"platform": "ci", "namespace": "shop", "deployment": "checkout"}).to_string();
    let (a, v) = auth();

    let (code, text) = http_post(s.addr, "/api/v1/reports", &[], body.as_bytes()).unwrap();
    assert_eq!(code, 401, "{text}");
    assert!(text.contains("bearer token"));
    let (code, _) = http_post(
        s.addr,
        "/api/v1/reports",
        &[("Authorization", "Bearer wrong")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(code, 401);
    let big =
        json!({"platform": "ci", "namespace": "shop", "deployment": "x".repeat(500)}).to_string();
    let (code, text) = http_post(s.addr, "/api/v1/reports", &[(a, &v)], big.as_bytes()).unwrap();
    assert_eq!(code, 413, "{text}");
    let (code, text) = http_post(s.addr, "/api/v1/reports", &[(a, &v)], b"{not json").unwrap();
    assert_eq!(code, 400, "{text}");
    let (code, text) = http_post(
        s.addr,
        "/api/v1/reports",
        &[(a, &v)],
        br#"{"platform": "ci", "namespace": "shop"}"#,
    )
    .unwrap();
    assert_eq!(code, 400);
    assert!(text.contains("deployment"), "{text}");
    let (code, text) = http_post(
        s.addr,
        "/api/v1/reports",
        &[(a, &v)],
        br#"{"platform":"ci","namespace":"shop","deployment":"checkout","time":"yesterday"}"#,
    )
    .unwrap();
    assert_eq!(code, 400, "{text}");

    let (code, text) = http_post(s.addr, "/api/v1/reports", &[(a, &v)], body.as_bytes()).unwrap();
    assert_eq!(code, 202, "{text}");
    let (code, text) = http_post(s.addr, "/api/v1/reports", &[(a, &v)], body.as_bytes()).unwrap();
    assert_eq!(code, 202);
    assert!(
        text.contains("\"duplicate\":true"),
        "the same report counts once: {text}"
    );

    // The example deployment is verified: the report is a false alarm.
    assert_eq!(
        metric(s.addr, "platform_failure_reports_total{platform=\"ci\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(s.addr, "platform_false_negative_total{platform=\"ci\"}"),
        Some(1.0)
    );
    let (_, _, list) = http_get(s.addr, "/api/v1/reports", None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v["reports"][0]["outcome"], "false_negative");
    assert!(
        v["reports"][0]["evidence"][0]
            .as_str()
            .unwrap()
            .contains("verified")
    );
}

#[test]
fn webhook_takes_alertmanager_version_4_payloads() {
    let tf = token_file();
    let dump = format!("{}/examples/false-alarm", env!("CARGO_MANIFEST_DIR"));
    let s = serve(
        None,
        &["--dump", &dump, "--token-file", tf.path().to_str().unwrap()],
    );
    let (a, v) = auth();
    let payload = json!({
        "version": "4", "groupKey": "{}:{alertname=\"PlatformDeploymentFailed\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "kube-verdict", "groupLabels": {"alertname": "PlatformDeploymentFailed"},
        "commonLabels": {"alertname": "PlatformDeploymentFailed"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "PlatformDeploymentFailed", "namespace": "shop", "deployment": "checkout", "platform": "paas",
              "image": "registry.example.com/shop/checkout:1.8.0"},
             "annotations": {}, "startsAt": "2026-11-20T10:01:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://ci/", "fingerprint": "6e1f5c1e0b1a2b3c"},
            {"status": "firing", "labels": {"alertname": "PlatformDeploymentFailed", "namespace": "shop"},
             "annotations": {}, "startsAt": "2026-11-20T10:01:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://ci/", "fingerprint": "aaaa"}
        ]
    })
    .to_string();
    let (code, text) = http_post(
        s.addr,
        "/api/v1/alertmanager/webhook",
        &[(a, &v)],
        payload.as_bytes(),
    )
    .unwrap();
    assert_eq!(code, 200, "{text}");
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["accepted"], 1);
    // The skipped alert is named as Alertmanager shows it, with what is missing.
    let skipped = r["skipped"][0].as_str().unwrap();
    assert!(
        skipped.starts_with("PlatformDeploymentFailed (aaaa): ") && skipped.contains("deployment"),
        "{r}"
    );
    // Alertmanager resends the group: counted once.
    http_post(
        s.addr,
        "/api/v1/alertmanager/webhook",
        &[(a, &v)],
        payload.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        metric(s.addr, "platform_failure_reports_total{platform=\"paas\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(s.addr, "platform_false_negative_total{platform=\"paas\"}"),
        Some(1.0)
    );
    let (code, text) = http_post(
        s.addr,
        "/api/v1/alertmanager/webhook",
        &[(a, &v)],
        br#"{"version": "3", "alerts": []}"#,
    )
    .unwrap();
    assert_eq!(code, 400);
    assert!(text.contains("version"));
}

#[test]
fn without_a_token_file_the_endpoints_are_disabled() {
    let dump = format!("{}/examples/false-alarm", env!("CARGO_MANIFEST_DIR"));
    let s = serve(None, &["--dump", &dump]);
    let (code, text) = http_post(
        s.addr,
        "/api/v1/reports",
        &[("Authorization", "Bearer x")],
        b"{}",
    )
    .unwrap();
    assert_eq!(code, 403);
    assert!(text.contains("--token-file"));
}

#[test]
fn a_report_made_while_converging_turns_false_negative_when_verified() {
    let fake = FakeApi::spawn();
    seed_start(&fake);
    let image = SEED_IMAGE;
    let tf = token_file();
    let s = serve(
        Some(&fake.kubeconfig()),
        &["--token-file", tf.path().to_str().unwrap()],
    );
    wait_verdict(
        s.addr,
        "shop",
        "checkout",
        "converging/build_running",
        Duration::from_secs(20),
    );
    let (a, v) = auth();
    let body =
        json!({"platform": "ci", "namespace": "shop", "deployment": "checkout", "image": image})
            .to_string();
    assert_eq!(
        http_post(s.addr, "/api/v1/reports", &[(a, &v)], body.as_bytes())
            .unwrap()
            .0,
        202
    );
    let (_, _, list) = http_get(s.addr, "/api/v1/reports", None).unwrap();
    assert!(list.contains("\"pending\""), "{list}");
    assert_eq!(
        metric(s.addr, "platform_false_negative_total{platform=\"ci\"}"),
        None
    );

    seed_finish(&fake);
    wait_until("false negative counted", Duration::from_secs(20), || {
        metric(s.addr, "platform_false_negative_total{platform=\"ci\"}") == Some(1.0)
    });
    assert_eq!(
        metric(
            s.addr,
            "platform_report_truth_delay_seconds_count{platform=\"ci\"}"
        ),
        Some(1.0)
    );
}
