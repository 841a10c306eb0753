//! Build objects of CRD-backed builders, read from their status (a leaf):
//! - Tekton `TaskRun` (`tekton.dev/v1` `status.results[]`, `v1beta1` `status.taskResults[]`,
//!   `{name, value}`): the images of `<prefix>IMAGE_URL` / `<prefix>IMAGE_DIGEST` pairs and of
//!   `IMAGES` (tektoncd/pipeline docs/tasks.md; tektoncd/chains docs/slsa-provenance.md);
//! - Shipwright `BuildRun` (`shipwright.io/v1beta1`): `status.output.digest` for the output
//!   image of `status.buildSpec.output.image`, else `spec.output.image`
//!   (shipwright-io/build pkg/apis/build/v1beta1/buildrun_types.go);
//! - OpenShift `Build` (`build.openshift.io/v1`): `status.output.to.imageDigest` for
//!   `status.outputDockerImageReference` (openshift/api build/v1/types.go).
//!
//! TaskRun and BuildRun say how they went in their `Succeeded` condition (True, False, Unknown:
//! running); an OpenShift Build in `status.phase` (`New`, `Pending`, `Running`, `Complete`,
//! `Failed`, `Error`, `Cancelled`).

use jiff::Timestamp;
use serde_json::Value;

use super::builder::{BuildStatus, BuilderKind};
use crate::engine::image::Digest;
use crate::engine::text::bounded;

/// A build object's status, projected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildObjectStatus {
    pub builder: BuilderKind,
    /// The images it built and pushed, each with the digest it reported (None: none yet).
    pub images: Vec<(String, Option<Digest>)>,
    pub status: BuildStatus,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why it failed (reason and message), empty otherwise.
    pub message: String,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn time(v: &Value, path: &[&str]) -> Option<Timestamp> {
    text(v, path)?.parse().ok()
}

/// The `Succeeded` condition: status and its reason and message.
fn succeeded(v: &Value) -> (BuildStatus, String) {
    let cond = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Succeeded"))
        });
    let Some(c) = cond else {
        return (BuildStatus::Running, String::new());
    };
    let said = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
    match said("status") {
        "True" => (BuildStatus::Succeeded, String::new()),
        "False" => (
            BuildStatus::Failed,
            bounded(format!("{}: {}", said("reason"), said("message")).trim_matches([' ', ':']))
                .into_owned(),
        ),
        _ => (BuildStatus::Running, String::new()),
    }
}

/// The images of Tekton results (`{name, value}`; string values, and for `IMAGES` also an
/// array of strings). An image whose `IMAGE_DIGEST` is there but is no digest is skipped: a
/// malformed result must not hide a good build; one without `IMAGE_DIGEST` is a build whose
/// digest is unknown (the registry may tell).
fn tekton_images(results: &[Value]) -> Vec<(String, Option<Digest>)> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    };
    let pairs: Vec<(&str, String)> = results
        .iter()
        .filter_map(|r| Some((r.get("name")?.as_str()?, text(r.get("value")?)?)))
        .collect();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut out = Vec::new();
    for (key, val) in &pairs {
        if let Some(prefix) = key.strip_suffix("IMAGE_URL") {
            match value(&format!("{prefix}IMAGE_DIGEST")) {
                None => out.push((val.trim().to_string(), None)),
                Some(d) => {
                    if let Some(d) = Digest::parse(d.trim()) {
                        out.push((val.trim().to_string(), Some(d)));
                    }
                }
            }
        }
        if *key == "IMAGES" {
            for entry in val.split([',', '\n']) {
                if let Some((image, d)) = entry.trim().split_once('@')
                    && let Some(d) = Digest::parse(d.trim())
                {
                    out.push((image.trim().to_string(), Some(d)));
                }
            }
        }
    }
    out.retain(|(i, _)| !i.is_empty());
    out
}

/// A Tekton TaskRun (v1 `results`, v1beta1 `taskResults`).
pub fn task_run(v: &Value) -> BuildObjectStatus {
    let results = v
        .pointer("/status/results")
        .or_else(|| v.pointer("/status/taskResults"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (status, message) = succeeded(v);
    BuildObjectStatus {
        builder: BuilderKind::Tekton,
        images: tekton_images(results),
        status,
        started_at: time(v, &["status", "startTime"]),
        finished_at: time(v, &["status", "completionTime"]),
        message,
    }
}

/// A Shipwright BuildRun.
pub fn build_run(v: &Value) -> BuildObjectStatus {
    let image = text(v, &["status", "buildSpec", "output", "image"])
        .or_else(|| text(v, &["spec", "output", "image"]));
    let digest = text(v, &["status", "output", "digest"]).and_then(|d| Digest::parse(d.trim()));
    let (status, message) = succeeded(v);
    BuildObjectStatus {
        builder: BuilderKind::Shipwright,
        images: image
            .map(|i| vec![(i.trim().to_string(), digest)])
            .unwrap_or_default(),
        status,
        started_at: time(v, &["status", "startTime"]),
        finished_at: time(v, &["status", "completionTime"]),
        message,
    }
}

/// An OpenShift Build.
pub fn openshift_build(v: &Value) -> BuildObjectStatus {
    let image = text(v, &["status", "outputDockerImageReference"]).or_else(|| {
        (text(v, &["spec", "output", "to", "kind"]) == Some("DockerImage"))
            .then(|| text(v, &["spec", "output", "to", "name"]))
            .flatten()
    });
    let digest =
        text(v, &["status", "output", "to", "imageDigest"]).and_then(|d| Digest::parse(d.trim()));
    let phase = text(v, &["status", "phase"]).unwrap_or("");
    let status = match phase {
        "Complete" => BuildStatus::Succeeded,
        "Failed" | "Error" | "Cancelled" => BuildStatus::Failed,
        _ => BuildStatus::Running,
    };
    let message = if status == BuildStatus::Failed {
        let said = format!(
            "{phase}: {} {}",
            text(v, &["status", "reason"]).unwrap_or(""),
            text(v, &["status", "message"]).unwrap_or("")
        );
        bounded(said.trim()).into_owned()
    } else {
        String::new()
    };
    BuildObjectStatus {
        builder: BuilderKind::OpenShift,
        images: image
            .map(|i| vec![(i.trim().to_string(), digest)])
            .unwrap_or_default(),
        status,
        started_at: time(v, &["status", "startTimestamp"]),
        finished_at: time(v, &["status", "completionTimestamp"]),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: &str = "sha256:4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

    #[test]
    fn task_runs_of_v1_and_v1beta1() {
        // tekton.dev/v1: status.results; the Succeeded condition.
        let v1 = json!({"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": "build-web-x7k2p", "namespace": "ci"},
            "status": {"startTime": "2026-11-30T10:00:00Z", "completionTime": "2026-11-30T10:01:30Z",
                "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded",
                    "message": "All Steps have completed executing"}],
                "results": [{"name": "IMAGE_DIGEST", "type": "string", "value": D},
                            {"name": "IMAGE_URL", "type": "string", "value": "registry.example.com/shop/web:1.0\n"},
                            {"name": "OBJ", "type": "object", "value": {"a": "b"}}]}});
        let s = task_run(&v1);
        assert_eq!(s.status, BuildStatus::Succeeded);
        assert_eq!(
            s.images,
            vec![("registry.example.com/shop/web:1.0".into(), Digest::parse(D))]
        );
        assert_eq!(s.finished_at, "2026-11-30T10:01:30Z".parse().ok());
        // tekton.dev/v1beta1: status.taskResults; a failure.
        let beta = json!({"status": {"conditions": [{"type": "Succeeded", "status": "False",
                "reason": "Failed", "message": "\"step-build-and-push\" exited with code 1"}],
            "taskResults": [{"name": "IMAGES", "value": format!("r.io/a:1@{D}, r.io/b:1@{D}")}]}});
        let s = task_run(&beta);
        assert_eq!(s.status, BuildStatus::Failed);
        assert!(
            s.message.starts_with("Failed: \"step-build-and-push\""),
            "{}",
            s.message
        );
        assert_eq!(s.images.len(), 2);
        // Running, wrong types, nothing at all: no panic, no image.
        let odd = json!({"status": {"conditions": "x", "results": [1, {"name": 2}]}});
        assert_eq!(task_run(&odd).images, vec![]);
        // A malformed IMAGE_DIGEST skips the image; IMAGES as a Tekton array result is read.
        let bad = json!({"status": {"results": [
            {"name": "IMAGE_URL", "value": "r.io/a:1"}, {"name": "IMAGE_DIGEST", "value": "garbage"},
            {"name": "IMAGES", "type": "array", "value": [format!("r.io/b:1@{D}"), "r.io/c:1@sha256:zz"]}]}});
        assert_eq!(
            task_run(&bad).images,
            vec![("r.io/b:1".to_string(), Digest::parse(D))]
        );
        assert_eq!(task_run(&json!(null)).status, BuildStatus::Running);
    }

    #[test]
    fn build_runs_and_openshift_builds() {
        let br = json!({"apiVersion": "shipwright.io/v1beta1", "kind": "BuildRun",
            "metadata": {"name": "web-buildrun-abc", "namespace": "ci"},
            "spec": {"build": {"name": "web"}},
            "status": {"buildSpec": {"output": {"image": "registry.example.com/shop/web:2.0"}},
                "output": {"digest": D, "size": 1234},
                "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
                "startTime": "2026-11-30T10:00:00Z", "completionTime": "2026-11-30T10:02:00Z"}});
        let s = build_run(&br);
        assert_eq!(
            (s.builder, s.status, s.images.clone()),
            (
                BuilderKind::Shipwright,
                BuildStatus::Succeeded,
                vec![("registry.example.com/shop/web:2.0".into(), Digest::parse(D))]
            )
        );
        let ob = json!({"apiVersion": "build.openshift.io/v1", "kind": "Build",
            "metadata": {"name": "web-3", "namespace": "shop"},
            "spec": {"output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}}},
            "status": {"phase": "Complete", "startTimestamp": "2026-11-30T10:00:00Z",
                "completionTimestamp": "2026-11-30T10:03:00Z",
                "outputDockerImageReference": "image-registry.openshift-image-registry.svc:5000/shop/web:latest",
                "output": {"to": {"imageDigest": D}}}});
        let s = openshift_build(&ob);
        assert_eq!(s.status, BuildStatus::Succeeded);
        assert_eq!(s.images[0].1, Digest::parse(D));
        let failed = json!({"status": {"phase": "Failed", "reason": "PushImageToRegistryFailed",
            "message": "Failed to push the image to the registry."}});
        let s = openshift_build(&failed);
        assert_eq!(s.status, BuildStatus::Failed);
        assert_eq!(
            s.message,
            "Failed: PushImageToRegistryFailed Failed to push the image to the registry."
        );
    }
}
