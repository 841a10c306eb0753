//! Dashboards are code: valid JSON with a `datasource` variable that every panel and query uses,
//! stable unique uids, only metrics kube-verdict exports (or the recording rules of
//! alerts/rules.yaml), and every PromQL expression parsed by `promtool check rules`. The chain
//! test (tests/chain.rs) also runs each query against a real Prometheus and checks it returns
//! data.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::*;

fn dashboards() -> Vec<(String, Value)> {
    let dir = format!("{}/dashboards", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn exprs(d: &Value) -> Vec<String> {
    d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["expr"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Template variables replaced by values PromQL accepts.
fn concrete(expr: &str) -> String {
    expr.replace("$namespace", "shop")
        .replace("$deployment", "checkout")
        .replace("$platform", "paas")
}

fn recorded() -> BTreeSet<String> {
    let rules: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!("{}/alerts/rules.yaml", env!("CARGO_MANIFEST_DIR")))
            .unwrap(),
    )
    .unwrap();
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["rules"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|r| r["record"].as_str().map(String::from))
        })
        .collect()
}

#[test]
fn dashboards_are_well_formed_and_use_the_datasource_variable() {
    let all = dashboards();
    assert!(
        all.len() >= 4,
        "verdicts, deployment, false-alarm SLO, health"
    );
    let mut uids = BTreeSet::new();
    for (name, d) in &all {
        let uid = d["uid"].as_str().unwrap();
        assert!(uids.insert(uid.to_string()), "{name}: duplicate uid {uid}");
        assert!(
            uid.starts_with("kube-verdict-") && uid.len() <= 40,
            "{name}: stable uid {uid}"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        assert!(
            vars.iter().any(|v| v["name"] == "datasource"
                && v["type"] == "datasource"
                && v["query"] == "prometheus"),
            "{name}: no datasource variable"
        );
        for v in vars.iter().filter(|v| v["type"] == "query") {
            assert_eq!(
                v["datasource"]["uid"], "${datasource}",
                "{name}: variable {}",
                v["name"]
            );
        }
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_i64().unwrap()),
                "{name}: duplicate panel id"
            );
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{name}: panel {}",
                p["title"]
            );
            let targets = p["targets"].as_array().unwrap();
            assert!(
                !targets.is_empty(),
                "{name}: panel {} has no query",
                p["title"]
            );
            for t in targets {
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{name}: target of {}",
                    p["title"]
                );
            }
        }
    }
}

#[test]
fn dashboards_use_only_exported_metrics_and_valid_promql() {
    let recorded = recorded();
    let mut rules = String::from("groups:\n  - name: dashboard-expressions\n    rules:\n");
    let mut n = 0;
    for (name, d) in dashboards() {
        for e in exprs(&d) {
            for m in metric_names(&e) {
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .fold(m.clone(), |acc, s| {
                        acc.strip_suffix(s).map(String::from).unwrap_or(acc)
                    });
                assert!(
                    EXPORTED_METRICS.contains(&base.as_str()) || recorded.contains(&m),
                    "{name}: {e} uses {m}, which kube-verdict does not export"
                );
            }
            n += 1;
            rules += &format!(
                "      - record: dashboard:expr_{n}\n        expr: {}\n",
                serde_json::to_string(&concrete(&e)).unwrap()
            );
        }
    }
    if !require_tool("promtool") {
        return;
    }
    let f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(f.path(), rules).unwrap();
    let (ok, out) = run_tool("promtool", &["check", "rules", f.path().to_str().unwrap()]);
    assert!(ok, "promtool rejected a dashboard expression: {out}");
    assert!(out.contains(&format!("{n} rules found")), "{out}");
}

#[test]
fn dashboards_are_what_the_generator_writes() {
    if !require_tool("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{}/scripts/gen_dashboards.py", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&script).unwrap();
    // Run the generator against a copy of the tree layout that only has dashboards/.
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::create_dir_all(dir.path().join("dashboards")).unwrap();
    std::fs::write(dir.path().join("scripts/gen_dashboards.py"), src).unwrap();
    let (ok, out) = run_tool(
        "python3",
        &[dir
            .path()
            .join("scripts/gen_dashboards.py")
            .to_str()
            .unwrap()],
    );
    assert!(ok, "{out}");
    for (name, committed) in dashboards() {
        let fresh: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("dashboards").join(&name)).unwrap(),
        )
        .unwrap();
        assert_eq!(
            fresh, committed,
            "dashboards/{name} differs from scripts/gen_dashboards.py: run it and commit"
        );
    }
}
