//! Deployment artefacts: the kustomize base and the namespace-scoped overlay build with
//! `kubectl kustomize` and pass an offline schema validator (kubernetes-validate, strict), the
//! PrometheusRule does not drift from alerts/rules.yaml, RBAC is read-only with `pods/log` only
//! in build namespaces, and the container and the Dockerfile run non-root on a read-only root
//! filesystem.

mod support;

use serde_yaml::Value;
use support::*;

fn root() -> String {
    support::root().display().to_string()
}

fn kustomize(dir: &str) -> Option<Vec<Value>> {
    if !require_tool("kubectl") {
        return None;
    }
    let (ok, out) = run_tool("kubectl", &["kustomize", dir]);
    assert!(ok, "kubectl kustomize {dir}: {out}");
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&out)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect();
    Some(docs)
}

fn kind(v: &Value) -> &str {
    v["kind"].as_str().unwrap_or_default()
}

fn validate(docs: &[Value]) {
    if !require_tool("kubernetes-validate") {
        return;
    }
    // The validator knows the built-in kinds; ServiceMonitor and PrometheusRule are CRDs.
    let core: Vec<&Value> = docs
        .iter()
        .filter(|d| {
            !d["apiVersion"]
                .as_str()
                .unwrap_or("")
                .starts_with("monitoring.coreos.com")
        })
        .collect();
    let text: String = core
        .iter()
        .map(|d| format!("---\n{}", serde_yaml::to_string(d).unwrap()))
        .collect();
    let f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    let (ok, out) = run_tool(
        "kubernetes-validate",
        &["--strict", "-k", "1.33.0", f.path().to_str().unwrap()],
    );
    assert!(ok, "kubernetes-validate: {out}");
}

fn check_container(docs: &[Value]) {
    let d = docs
        .iter()
        .find(|d| kind(d) == "Deployment")
        .expect("a Deployment");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let c = &pod["containers"][0];
    assert_eq!(
        c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    assert_eq!(
        c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        c["image"].as_str(),
        Some("ghcr.io/kube-verdict/kube-verdict:0.1.0")
    );
}

/// Every RBAC rule is read-only; `pods/log` appears only in namespaced Roles.
fn check_rbac(docs: &[Value]) {
    for d in docs
        .iter()
        .filter(|d| kind(d) == "ClusterRole" || kind(d) == "Role")
    {
        for r in d["rules"].as_sequence().unwrap() {
            let verbs: Vec<&str> = r["verbs"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let resources: Vec<&str> = r["resources"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(
                verbs.iter().all(|v| ["get", "list", "watch"].contains(v)),
                "{}: write verbs {verbs:?}",
                kind(d)
            );
            assert!(!resources.contains(&"secrets"), "no Secrets");
            if resources.contains(&"pods/log") {
                assert_eq!(kind(d), "Role", "pods/log only in build namespaces");
                assert_eq!(verbs, vec!["get"]);
            }
        }
    }
}

#[test]
fn base_builds_validates_and_is_least_privilege() {
    let Some(docs) = kustomize("deploy/base") else {
        return;
    };
    let kinds: Vec<&str> = docs.iter().map(kind).collect();
    for k in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
    ] {
        assert!(kinds.contains(&k), "base lacks a {k}: {kinds:?}");
    }
    // The base applies on a bare cluster: no CRD kinds, no object in a namespace it does not
    // create.
    for k in ["ServiceMonitor", "PrometheusRule"] {
        assert!(!kinds.contains(&k), "the base needs no Operator CRD ({k})");
    }
    for d in &docs {
        let ns = d["metadata"]["namespace"]
            .as_str()
            .unwrap_or("kube-verdict");
        assert_eq!(
            ns,
            "kube-verdict",
            "{} {:?} outside the namespace the base creates",
            kind(d),
            d["metadata"]["name"]
        );
    }
    check_container(&docs);
    check_rbac(&docs);
    validate(&docs);
}

#[test]
fn the_readme_install_command_builds_the_base() {
    let Some(top) = kustomize("deploy") else {
        return;
    };
    let Some(base) = kustomize("deploy/base") else {
        return;
    };
    assert_eq!(top, base, "kubectl apply -k deploy/ installs the base");
}

#[test]
fn the_optional_steps_build_and_validate() {
    for dir in [
        "deploy/build-logs",
        "deploy/build-objects",
        "deploy/prometheus-operator",
        "deploy/network-policy",
    ] {
        let Some(docs) = kustomize(dir) else {
            return;
        };
        assert!(!docs.is_empty(), "{dir} is empty");
        check_rbac(&docs);
        if !dir.ends_with("prometheus-operator") {
            validate(&docs);
        }
    }
}

/// The one step that reads Secrets is its own, opt-in, and grants `get` on Secrets alone (no
/// list, no watch: a pull secret is read by name).
#[test]
fn the_pull_secrets_step_grants_get_secrets_and_nothing_else() {
    let Some(docs) = kustomize("deploy/registry-pull-secrets") else {
        return;
    };
    validate(&docs);
    let roles: Vec<&Value> = docs.iter().filter(|d| kind(d) == "ClusterRole").collect();
    assert_eq!(roles.len(), 1);
    let rules = roles[0]["rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        serde_yaml::to_string(&rules[0]).unwrap().trim(),
        "apiGroups:\n- ''\nresources:\n- secrets\nverbs:\n- get"
    );
}

/// The NetworkPolicy selects kube-verdict's pods and admits only its named port, and only from
/// Prometheus and the report senders.
#[test]
fn the_network_policy_admits_only_scrapes_and_report_senders() {
    let Some(docs) = kustomize("deploy/network-policy") else {
        return;
    };
    let Some(base) = kustomize("deploy/base") else {
        return;
    };
    let np = docs
        .iter()
        .find(|d| kind(d) == "NetworkPolicy")
        .expect("a NetworkPolicy");
    let pod_labels = &base.iter().find(|d| kind(d) == "Deployment").unwrap()["spec"]["template"]["metadata"]
        ["labels"];
    for (k, v) in np["spec"]["podSelector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "the policy selects kube-verdict's pods"
        );
    }
    assert_eq!(np["metadata"]["namespace"].as_str(), Some("kube-verdict"));
    let rules = np["spec"]["ingress"].as_sequence().unwrap();
    assert_eq!(rules.len(), 2);
    for r in rules {
        assert_eq!(r["ports"][0]["port"].as_str(), Some("http"));
        assert!(
            !r["from"].as_sequence().unwrap().is_empty(),
            "no rule admits everyone"
        );
    }
}

#[test]
fn namespaced_overlay_has_no_cluster_scope() {
    let Some(docs) = kustomize("deploy/overlays/namespaced") else {
        return;
    };
    assert!(
        !docs.iter().any(|d| kind(d).starts_with("Cluster")),
        "no ClusterRole in the namespaced overlay"
    );
    let env = &docs.iter().find(|d| kind(d) == "Deployment").unwrap()["spec"]["template"]["spec"]["containers"]
        [0]["env"];
    let names: Vec<&str> = env
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"KUBE_VERDICT_NAMESPACES") && names.contains(&"KUBE_VERDICT_NO_NODES"));
    check_container(&docs);
    check_rbac(&docs);
    validate(&docs);
}

#[test]
fn prometheusrule_is_generated_from_the_rule_file() {
    let rules: Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!("{}/alerts/rules.yaml", root())).unwrap(),
    )
    .unwrap();
    let pr: Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!(
            "{}/deploy/prometheus-operator/prometheusrule.yaml",
            root()
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(pr["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(
        pr["spec"]["groups"], rules["groups"],
        "deploy/prometheus-operator/prometheusrule.yaml drifted from alerts/rules.yaml: run python3 scripts/gen_prometheusrule.py"
    );
}

#[test]
fn dockerfile_is_multi_stage_and_non_root() {
    let d = std::fs::read_to_string(format!("{}/Dockerfile", root())).unwrap();
    assert!(
        d.matches("\nFROM ").count() + usize::from(d.starts_with("FROM ")) >= 2,
        "multi-stage"
    );
    assert!(d.contains("--locked"));
    assert!(
        d.contains("USER 65532:65532") && d.contains(":nonroot"),
        "non-root"
    );
    assert!(d.contains("ENTRYPOINT [\"/usr/local/bin/kube-verdict\"]"));
    // Every base image is pinned by digest.
    for from in d.lines().filter(|l| l.starts_with("FROM ")) {
        let image = from.split_whitespace().nth(1).unwrap();
        let (_, digest) = image
            .split_once("@sha256:")
            .unwrap_or_else(|| panic!("{from}: not pinned by digest"));
        assert!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "{from}"
        );
    }
}

/// Without the Prometheus Operator: a ConfigMap with the rules (kept equal to alerts/rules.yaml)
/// and a scrape job that promtool accepts inside a prometheus.yml.
#[test]
fn the_plain_prometheus_variant_builds_and_its_files_are_valid() {
    let Some(docs) = kustomize("deploy/plain-prometheus") else {
        return;
    };
    validate(&docs);
    let cm = docs
        .iter()
        .find(|d| kind(d) == "ConfigMap")
        .expect("a ConfigMap");
    let rules = std::fs::read_to_string(format!("{}/alerts/rules.yaml", root())).unwrap();
    assert_eq!(
        cm["data"]["kube-verdict-rules.yaml"].as_str(),
        Some(rules.as_str()),
        "deploy/plain-prometheus/kube-verdict-rules.yaml drifted from alerts/rules.yaml: copy it again"
    );
    if !require_tool("promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), &rules).unwrap();
    let scrape = cm["data"]["kube-verdict-scrape.yaml"].as_str().unwrap();
    let indented: String = scrape.lines().map(|l| format!("  {l}\n")).collect();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("rule_files: [rules.yaml]\nscrape_configs:\n{indented}"),
    )
    .unwrap();
    let (ok, out) = run_tool(
        "promtool",
        &[
            "check",
            "config",
            dir.path().join("prometheus.yml").to_str().unwrap(),
        ],
    );
    if !ok && out.contains("field kubernetes_sd_configs not found") {
        // Debian's prometheus is built without Kubernetes service discovery: check the job's
        // shape by hand and the rules with promtool.
        let job: Value = serde_yaml::from_str(scrape).unwrap();
        assert_eq!(job[0]["job_name"].as_str(), Some("kube-verdict"));
        assert_eq!(
            job[0]["kubernetes_sd_configs"][0]["role"].as_str(),
            Some("endpoints")
        );
        let rules_path = dir.path().join("rules.yaml");
        let (ok, out) = run_tool(
            "promtool",
            &["check", "rules", rules_path.to_str().unwrap()],
        );
        assert!(ok, "promtool check rules: {out}");
        return;
    }
    assert!(ok, "promtool check config: {out}");
}
