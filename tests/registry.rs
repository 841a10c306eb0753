//! The registry as the second source of truth (DESIGN §7), against real parts: Debian's
//! `docker-registry` on 127.0.0.1 (without auth, and with htpasswd auth), images built and
//! pushed by Debian's `buildah` (single images, a re-pushed tag, a multi-arch index), and the
//! real `kube-verdict` binary (live `check` and `serve`) judging a fake-API world whose
//! Deployment runs those images with no build pod in the cluster.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_api::FakeApi;
use support::objects::*;
use support::registry::{self, HostileRegistry, Hostility, Registry};
use support::*;

const HASH: &str = "5d8c7b6a9";

/// `shop/web` running `image` on one ready pod that reports `image_id`, on a node of `arch`.
fn world(fake: &FakeApi, image: &str, image_id: &str, arch: &str) {
    let mut n = node("node-1");
    n["metadata"]["labels"]["kubernetes.io/os"] = json!("linux");
    n["metadata"]["labels"]["kubernetes.io/arch"] = json!(arch);
    fake.apply(n);
    fake.apply(deployment("shop", "web", image, 1, 1, -7200));
    fake.apply(replicaset("shop", "web", HASH, 1, 1, -7200));
    fake.apply(pod_ready("shop", "web", HASH, 0, image, image_id, -7000));
}

/// Runs live `check -o json` on the fake API with the registry flags and `extra`.
fn check(fake: &FakeApi, reg: &Registry, extra: &[&str]) -> Value {
    let mut kc = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut kc, fake.kubeconfig().as_bytes()).unwrap();
    let lookup: &[&str] = if extra.contains(&"--registry-lookup") {
        &[]
    } else {
        &["--registry-lookup", "on"]
    };
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
        .args(["check", "-A", "-o", "json", "--timeout", "30s"])
        .args(lookup)
        .args(["--registry-insecure", &reg.host])
        .args(extra)
        .env("KUBECONFIG", kc.path())
        .env_remove("KUBE_VERDICT_REGISTRY_LOOKUP")
        .output()
        .unwrap();
    // Any verdict's exit code (0 verified, 1 stale, 3 not done): the JSON says which.
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    v["deployments"][0].clone()
}

/// Pushes `repo_tag` (holding `content`) to `reg` and starts a fake API whose `shop/web` runs
/// it on an amd64 node: the fake, the image, the pushed digest and buildah's push log.
fn pushed_world(
    reg: &Registry,
    repo_tag: &str,
    content: &str,
) -> (FakeApi, String, String, String) {
    let (digest, log) = reg.push(repo_tag, content);
    let image = format!("{}/{repo_tag}", reg.host);
    let repo = repo_tag.rsplit_once(':').unwrap().0;
    let fake = FakeApi::spawn();
    world(
        &fake,
        &image,
        &format!("{}/{repo}@{digest}", reg.host),
        "amd64",
    );
    (fake, image, digest, log)
}

fn outcome(d: &Value) -> String {
    format!(
        "{}/{}",
        d["verdict"].as_str().unwrap(),
        d["cause"].as_str().unwrap()
    )
}

fn skip() -> bool {
    if registry::available() {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "docker-registry, buildah or htpasswd missing under CI (scripts/test.sh installs them)"
    );
    eprintln!("skipped: docker-registry, buildah or htpasswd missing");
    true
}

#[test]
fn a_registry_image_is_verified_then_awaiting_rollout_then_stale_after_its_tag_moves() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    let (d1, push_log) = reg.push("shop/web:1.0", "v1");
    // buildah's own push log carries no digest (research §2.2): only --digestfile does.
    assert!(
        push_log.contains("Writing manifest to image destination"),
        "{push_log}"
    );
    assert!(
        !push_log.contains("sha256:") || !push_log.contains(&d1),
        "{push_log}"
    );
    let image = format!("{}/shop/web:1.0", reg.host);
    let fake = FakeApi::spawn();
    world(
        &fake,
        &image,
        &format!("{}/shop/web@{d1}", reg.host),
        "amd64",
    );

    let d = check(&fake, &reg, &[]);
    assert_eq!(outcome(&d), "verified/digest_match", "{d:#}");
    let b = &d["containers"][0]["build"];
    assert_eq!(b["builder"], "registry");
    assert_eq!(b["source"], "registry");
    assert_eq!(b["pod"], Value::Null);
    assert_eq!(b["digest"], d1.as_str());
    assert_eq!(d["containers"][0]["digest_match"], true);
    let evidence = d["evidence"].to_string();
    assert!(
        evidence.contains(&format!("registry {} answered {image} -> {d1}", reg.host)),
        "{evidence}"
    );

    // Lookups off: the same world is complete/no_build_known.
    let off = check(&fake, &reg, &["--registry-lookup", "off"]);
    assert_eq!(outcome(&off), "complete/no_build_known");

    // The tag moves (a new image pushed to it): the pods run the old digest.
    let (d2, _) = reg.push("shop/web:1.0", "v2");
    assert_ne!(d1, d2);
    let moved = check(&fake, &reg, &[]);
    assert_eq!(outcome(&moved), "converging/awaiting_rollout", "{moved:#}");
    assert_eq!(moved["containers"][0]["digest_match"], false);
    std::thread::sleep(Duration::from_secs(2));
    let stale = check(&fake, &reg, &["--rollout-grace", "1s"]);
    assert_eq!(outcome(&stale), "stale/digest_mismatch", "{stale:#}");
    assert!(
        stale["next_step"]
            .as_str()
            .unwrap()
            .contains("rollout restart"),
        "{stale:#}"
    );

    // The pods restarted on the new digest: verified again.
    fake.apply(pod_ready(
        "shop",
        "web",
        HASH,
        0,
        &image,
        &format!("{}/shop/web@{d2}", reg.host),
        -5,
    ));
    let again = check(&fake, &reg, &["--rollout-grace", "1s"]);
    assert_eq!(outcome(&again), "verified/digest_match");
}

#[test]
fn an_auth_registry_is_unauthorized_without_credentials_and_verified_with_them() {
    if skip() {
        return;
    }
    let reg = Registry::start_with_auth("ci", "s3cret");
    let (fake, _, _, _) = pushed_world(&reg, "shop/web:2.0", "v1");

    // serve without credentials: nothing worse than no_build_known, and counted.
    let served = serve(
        Some(&fake.kubeconfig()),
        &["--registry-lookup", "on", "--registry-insecure", &reg.host],
    );
    wait_verdict(
        served.addr,
        "shop",
        "web",
        "complete/no_build_known",
        Duration::from_secs(20),
    );
    wait_until(
        "an unauthorized registry request counted",
        Duration::from_secs(20),
        || {
            metric(
                served.addr,
                "kube_verdict_registry_requests_total{result=\"unauthorized\"}",
            )
            .is_some_and(|v| v >= 1.0)
        },
    );
    assert_eq!(
        metric(
            served.addr,
            "kube_verdict_registry_requests_total{result=\"ok\"}"
        ),
        Some(0.0)
    );
    drop(served);

    // With a docker config.json: verified.
    let config = reg.docker_config();
    let d = check(
        &fake,
        &reg,
        &["--registry-config", config.to_str().unwrap()],
    );
    assert_eq!(outcome(&d), "verified/digest_match", "{d:#}");
}

#[test]
fn a_multi_arch_index_matches_the_manifest_of_the_node_platform() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    let index = reg.push_index("shop/web:3.0", "multi", &["amd64", "arm64"]);
    let manifests = reg.index_manifests("shop/web:3.0");
    let arm64 = &manifests.iter().find(|(a, _)| a == "arm64").unwrap().1;
    let image = format!("{}/shop/web:3.0", reg.host);

    // containerd reports the index itself.
    let fake = FakeApi::spawn();
    world(
        &fake,
        &image,
        &format!("{}/shop/web@{index}", reg.host),
        "arm64",
    );
    assert_eq!(outcome(&check(&fake, &reg, &[])), "verified/digest_match");

    // CRI-O reports the arm64 manifest: a match through the index on an arm64 node.
    let fake = FakeApi::spawn();
    world(
        &fake,
        &image,
        &format!("{}/shop/web@{arm64}", reg.host),
        "arm64",
    );
    let d = check(&fake, &reg, &[]);
    assert_eq!(outcome(&d), "verified/digest_match", "{d:#}");
    assert!(
        d["evidence"]
            .to_string()
            .contains(&format!("via index {index}")),
        "{d:#}"
    );

    // The same manifest reported from an amd64 node is not that node's image.
    let fake = FakeApi::spawn();
    world(
        &fake,
        &image,
        &format!("{}/shop/web@{arm64}", reg.host),
        "amd64",
    );
    let d = check(&fake, &reg, &["--rollout-grace", "1s"]);
    assert_ne!(d["verdict"], "verified", "{d:#}");
    assert_eq!(d["containers"][0]["digest_match"], false);
}

#[test]
fn a_tag_never_pushed_is_counted_not_found_and_blocks_a_pulling_rollout_at_once() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    reg.push("shop/web:1.0", "v1");
    let image = format!("{}/shop/web:9.9", reg.host);
    let fake = FakeApi::spawn();
    // A complete rollout on a digest the registry never had: nothing to add.
    world(
        &fake,
        &image,
        &format!("{}/shop/web@{}", reg.host, digest("never")),
        "amd64",
    );
    // A rollout whose pod fails to pull the missing tag since 20 s: under --blocked-after, the
    // kubelet's word alone is `converging`; the registry's 404 is definitive.
    let api = format!("{}/shop/api:9.9", reg.host);
    fake.apply(deployment("shop", "api", &api, 1, 0, -30));
    fake.apply(replicaset("shop", "api", "c0ffee123", 1, 0, -30));
    fake.apply(pod_waiting(
        "shop",
        "api",
        "c0ffee123",
        0,
        &api,
        "ErrImagePull",
        -25,
        json!({}),
    ));
    fake.apply(pod_event(
        "shop",
        &pod_name("api", "c0ffee123", 0),
        "Failed",
        &format!("Failed to pull image \"{api}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{api}\": failed to resolve reference \"{api}\": {api}: not found"),
        -20,
        -5,
        2,
        "kubelet",
    ));
    let off = check(&fake, &reg, &["--registry-lookup", "off", "deployment/api"]);
    assert_eq!(outcome(&off), "converging/rollout_progressing", "{off:#}");
    let on = check(&fake, &reg, &["deployment/api"]);
    assert_eq!(outcome(&on), "blocked/image_not_found", "{on:#}");
    assert!(
        on["blockers"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("registry {} answered 404 for {api}", reg.host)),
        "{on:#}"
    );

    let served = serve(
        Some(&fake.kubeconfig()),
        &["--registry-lookup", "on", "--registry-insecure", &reg.host],
    );
    wait_verdict(
        served.addr,
        "shop",
        "api",
        "blocked/image_not_found",
        Duration::from_secs(20),
    );
    // Both missing tags (web's and api's) are asked concurrently: api's verdict can be
    // published before web's 404 is counted.
    wait_until(
        "both missing tags counted not_found",
        Duration::from_secs(20),
        || {
            metric(
                served.addr,
                "kube_verdict_registry_requests_total{result=\"not_found\"}",
            )
            .is_some_and(|v| v >= 2.0)
        },
    );
    assert_eq!(
        verdict_of(served.addr, "shop", "web").as_deref(),
        Some("complete/no_build_known")
    );
}

/// A Tekton buildah task pushed the image (its digest file is the real one buildah wrote); the
/// registry is not asked for an image an in-cluster build pushes, and the build decides.
#[test]
fn a_tekton_buildah_build_is_the_reference_for_what_it_pushed() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    let (fake, image, d1, _) = pushed_world(&reg, "shop/web:4.0", "built in the cluster");
    let results = json!([
        {"key": "IMAGE_DIGEST", "value": d1, "type": 1},
        {"key": "IMAGE_URL", "value": image, "type": 1},
        {"key": "StartedAt", "value": "2026-11-30T10:00:00.000Z", "type": 3}
    ]);
    fake.apply(tekton_buildah_pod("ci", "build-web-pod", &image, &results));
    let d = check(&fake, &reg, &[]);
    assert_eq!(outcome(&d), "verified/digest_match", "{d:#}");
    let b = &d["containers"][0]["build"];
    assert_eq!(
        (
            b["builder"].as_str(),
            b["source"].as_str(),
            b["pod"].as_str()
        ),
        (Some("buildah"), Some("build"), Some("ci/build-web-pod"))
    );
    assert!(
        d["evidence"]
            .to_string()
            .contains("Tekton result IMAGE_DIGEST"),
        "{d:#}"
    );
}

/// A Tekton step kube-verdict has no builder for (a script around some push tool) reports
/// IMAGE_URL and IMAGE_DIGEST results: that is a build of that image (builder "tekton").
#[test]
fn a_tekton_step_with_image_results_is_a_build_whatever_it_runs() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    let (fake, image, d1, _) = pushed_world(&reg, "shop/web:5.0", "pushed by a script");
    let results = json!([
        {"key": "APP_IMAGE_URL", "value": image, "type": 1},
        {"key": "APP_IMAGE_DIGEST", "value": d1, "type": 1}
    ]);
    fake.apply(tekton_step_pod(
        "ci",
        "release-web-pod",
        "registry.example.com/tools/pusher:2.1",
        "./release.sh --push \"$IMAGE\" > /tekton/results/APP_IMAGE_DIGEST",
        &results,
    ));
    let d = check(&fake, &reg, &[]);
    assert_eq!(outcome(&d), "verified/digest_match", "{d:#}");
    assert_eq!(d["containers"][0]["build"]["builder"], "tekton", "{d:#}");
}

/// Registries that misbehave (a malformed `Docker-Content-Digest`, a redirect loop, silence,
/// 500, 429, 64 MiB that are no manifest) never make a verdict worse, never take health down,
/// and are each counted; the process stays small and answers throughout.
#[test]
fn hostile_registries_are_counted_and_change_nothing() {
    let modes = [
        Hostility::MalformedDigest,
        Hostility::RedirectLoop,
        Hostility::Silent,
        Hostility::Status(500),
        Hostility::Status(429),
        Hostility::HugeBody(64 << 20),
    ];
    let hostile: Vec<HostileRegistry> = modes.iter().map(|m| HostileRegistry::start(*m)).collect();
    let fake = FakeApi::spawn();
    fake.apply(node("node-1"));
    for (i, h) in hostile.iter().enumerate() {
        let name = format!("h{i}");
        let image = format!("{}/shop/{name}:1", h.host);
        fake.apply(deployment("shop", &name, &image, 1, 1, -7200));
        fake.apply(replicaset("shop", &name, HASH, 1, 1, -7200));
        fake.apply(pod_ready(
            "shop",
            &name,
            HASH,
            0,
            &image,
            &format!("{}/shop/{name}@{}", h.host, digest(&name)),
            -7000,
        ));
    }
    let insecure: Vec<String> = hostile.iter().map(|h| h.host.clone()).collect();
    let served = serve(
        Some(&fake.kubeconfig()),
        &[
            "--registry-lookup",
            "on",
            "--registry-insecure",
            &insecure.join(","),
            "--registry-concurrency",
            "8",
        ],
    );
    let started = std::time::Instant::now();
    // Five errors (the silent one after the 20 s deadline) and one rate limit.
    wait_until(
        "every hostile lookup answered",
        Duration::from_secs(60),
        || {
            metric(
                served.addr,
                "kube_verdict_registry_requests_total{result=\"error\"}",
            )
            .is_some_and(|v| v >= 5.0)
                && metric(
                    served.addr,
                    "kube_verdict_registry_requests_total{result=\"rate_limited\"}",
                )
                .is_some_and(|v| v >= 1.0)
        },
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(45), "{took:?}");
    for (i, mode) in modes.iter().enumerate() {
        assert_eq!(
            verdict_of(served.addr, "shop", &format!("h{i}")).as_deref(),
            Some("complete/no_build_known"),
            "{mode:?}"
        );
    }
    assert_eq!(
        metric(
            served.addr,
            "kube_verdict_registry_requests_total{result=\"ok\"}"
        ),
        Some(0.0)
    );
    assert_eq!(metric(served.addr, "kube_verdict_source_up"), Some(1.0));
    let rss = rss_kib(served.child.id(), "VmHWM");
    eprintln!("hostile registries: all counted after {took:?}; serve peak RSS {rss} KiB");
    // Bodies are read within a cap (4 MiB for a manifest): the 64 MiB one never is.
    assert!(rss < 120 * 1024, "peak RSS {rss} KiB");
    assert!(hostile.iter().all(|h| h.requests() > 0));
}

/// `--registry-auth pull-secrets`: the imagePullSecrets of the pods that run the image hold the
/// registry's credentials (a `kubernetes.io/dockerconfigjson` Secret read through the API
/// server); without the flag, or without `get secrets`, nothing worse than no_build_known.
#[test]
fn the_pods_pull_secrets_are_the_registry_credentials_when_asked() {
    if skip() {
        return;
    }
    use base64::Engine;
    let reg = Registry::start_with_auth("puller", "pull-s3cret");
    let (fake, image, d1, _) = pushed_world(&reg, "shop/web:6.0", "private");
    let mut pod = pod_ready(
        "shop",
        "web",
        HASH,
        0,
        &image,
        &format!("{}/shop/web@{d1}", reg.host),
        -7000,
    );
    // A secret that does not exist, one with a wrong password, then the right one: each is
    // tried in turn, as the kubelet does.
    pod["spec"]["imagePullSecrets"] =
        json!([{"name": "missing"}, {"name": "stale"}, {"name": "regcred"}]);
    fake.apply(pod);
    let wrong = json!({"auths": {reg.host.clone(): {"username": "puller", "password": "old"}}});
    fake.apply(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "stale", "namespace": "shop"},
        "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(wrong.to_string())}}));
    let config = std::fs::read(reg.docker_config()).unwrap();
    fake.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred", "namespace": "shop"},
        "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config)}}),
    );

    let without = check(&fake, &reg, &[]);
    assert_eq!(outcome(&without), "complete/no_build_known", "{without:#}");
    let with = check(&fake, &reg, &["--registry-auth", "pull-secrets"]);
    assert_eq!(outcome(&with), "verified/digest_match", "{with:#}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces/shop/secrets/regcred")),
        "the pull secret was read"
    );
    // RBAC without `get secrets`: judged as without credentials.
    fake.faults(|f| f.forbid = vec![support::fake_api::Res::Secrets]);
    let forbidden = check(&fake, &reg, &["--registry-auth", "pull-secrets"]);
    assert_eq!(
        outcome(&forbidden),
        "complete/no_build_known",
        "{forbidden:#}"
    );
}

/// A buildah build without `--digestfile` finished and its log (the real push log: no digest)
/// was read: the registry's answer for the tag is the reference, not `digest_unavailable`.
#[test]
fn a_build_without_a_digest_is_judged_by_the_registry() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    let (fake, image, _, push_log) =
        pushed_world(&reg, "shop/web:7.0", "built without a digest file");
    fake.apply(tekton_buildah_pod(
        "ci",
        "build-web-7-pod",
        &image,
        &json!(""),
    ));
    fake.set_log("ci", "build-web-7-pod", "step-build-and-push", &push_log);
    let off = check(&fake, &reg, &["--registry-lookup", "off"]);
    assert_eq!(outcome(&off), "complete/digest_unavailable", "{off:#}");
    let on = check(&fake, &reg, &[]);
    assert_eq!(outcome(&on), "verified/digest_match", "{on:#}");
    assert_eq!(
        on["containers"][0]["build"]["builder"], "registry",
        "{on:#}"
    );
    let evidence = on["evidence"].to_string();
    assert!(
        evidence.contains("build-web-7-pod succeeded but logged no digest"),
        "{evidence}"
    );
}

/// An in-cluster build pushed a multi-arch index (its digest file holds the index digest, as
/// `buildah manifest push --digestfile` and BuildKit with attestations write); a CRI-O node
/// reports the per-platform manifest: the index is read from the registry once and the pod
/// matches through it.
#[test]
fn an_in_cluster_build_of_an_index_matches_the_manifest_a_crio_node_reports() {
    if skip() {
        return;
    }
    let reg = Registry::start();
    let index = reg.push_index(
        "shop/web:8.0",
        "multi built in the cluster",
        &["amd64", "arm64"],
    );
    let arm64 = reg
        .index_manifests("shop/web:8.0")
        .into_iter()
        .find(|(a, _)| a == "arm64")
        .unwrap()
        .1;
    let image = format!("{}/shop/web:8.0", reg.host);
    let fake = FakeApi::spawn();
    world(
        &fake,
        &image,
        &format!("{}/shop/web@{arm64}", reg.host),
        "arm64",
    );
    let results = json!([{"key": "IMAGE_DIGEST", "value": index, "type": 1},
                         {"key": "IMAGE_URL", "value": image, "type": 1}]);
    fake.apply(tekton_buildah_pod(
        "ci",
        "build-web-8-pod",
        &image,
        &results,
    ));
    let off = check(
        &fake,
        &reg,
        &["--registry-lookup", "off", "--rollout-grace", "1s"],
    );
    assert_eq!(off["containers"][0]["digest_match"], false, "{off:#}");
    let on = check(&fake, &reg, &["--rollout-grace", "1s"]);
    assert_eq!(outcome(&on), "verified/digest_match", "{on:#}");
    assert_eq!(on["containers"][0]["build"]["builder"], "buildah");
    assert!(
        on["evidence"]
            .to_string()
            .contains(&format!("via index {index}")),
        "{on:#}"
    );
}
