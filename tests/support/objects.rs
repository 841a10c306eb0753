//! Kubernetes objects for live tests, with the same shapes as the dump fixtures
//! (tests/fixtures/k8sgen.py) but times relative to the test's start, so that `serve` judges them
//! with its real clock.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the builders"
)]
#![allow(
    clippy::too_many_arguments,
    reason = "builders take the fields a test varies, in the object's own order"
)]

use serde_json::{Value, json};

pub const KANIKO: &str = "gcr.io/kaniko-project/executor:v1.23.2";

/// RFC 3339 time `secs` seconds from now (negative: in the past).
pub fn at(secs: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
    jiff::Timestamp::from_second(t.as_second())
        .unwrap()
        .to_string()
}

pub fn digest(seed: &str) -> String {
    // A stable fake digest: 64 hex chars derived from the seed.
    let mut h: u64 = 0xcbf29ce484222325;
    let mut out = String::new();
    for round in 0..4u64 {
        for b in seed.bytes().chain(round.to_le_bytes()) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    format!("sha256:{out}")
}

pub fn node(name: &str) -> Value {
    json!({"kind": "Node", "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": at(0), "lastTransitionTime": at(-86400)}]}})
}

/// A Deployment with a finished (`complete`) or unfinished status.
pub fn deployment(
    ns: &str,
    name: &str,
    image: &str,
    replicas: i64,
    available: i64,
    started: i64,
) -> Value {
    json!({"kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-deploy-{ns}-{name}"), "generation": 2,
            "creationTimestamp": at(-86400), "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": image}]}}},
        "status": {"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": available, "availableReplicas": available,
            "conditions": [{"type": "Progressing", "status": "True", "reason": if available == replicas { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                "message": "progress", "lastUpdateTime": at(started), "lastTransitionTime": at(started)}]}})
}

pub fn replicaset(
    ns: &str,
    deploy: &str,
    hash: &str,
    replicas: i64,
    ready: i64,
    created: i64,
) -> Value {
    json!({"kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": format!("{deploy}-{hash}"), "namespace": ns, "uid": format!("uid-rs-{ns}-{deploy}-{hash}"),
            "creationTimestamp": at(created),
            "labels": {"app": deploy, "pod-template-hash": hash},
            "annotations": {"deployment.kubernetes.io/revision": "2"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy,
                "uid": format!("uid-deploy-{ns}-{deploy}"), "controller": true}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": deploy}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}})
}

fn app_pod_base(ns: &str, deploy: &str, hash: &str, i: u32, image: &str, created: i64) -> Value {
    let name = format!("{deploy}-{hash}-p{i}");
    json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-pod-{ns}-{name}"), "creationTimestamp": at(created),
            "labels": {"app": deploy, "pod-template-hash": hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{deploy}-{hash}"),
                "uid": format!("uid-rs-{ns}-{deploy}-{hash}"), "controller": true}]},
        "spec": {"containers": [{"name": deploy, "image": image}]},
        "status": {"phase": "Pending"}})
}

pub fn pod_name(deploy: &str, hash: &str, i: u32) -> String {
    format!("{deploy}-{hash}-p{i}")
}

/// A ready pod running `image_id`.
pub fn pod_ready(
    ns: &str,
    deploy: &str,
    hash: &str,
    i: u32,
    image: &str,
    image_id: &str,
    started: i64,
) -> Value {
    let mut p = app_pod_base(ns, deploy, hash, i, image, started - 5);
    p["spec"]["nodeName"] = json!("node-1");
    p["status"] = json!({"phase": "Running", "startTime": at(started - 4),
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": at(started - 5)},
                       {"type": "Ready", "status": "True", "lastTransitionTime": at(started)}],
        "containerStatuses": [{"name": deploy, "image": image, "imageID": image_id, "ready": true, "restartCount": 0,
            "started": true, "state": {"running": {"startedAt": at(started)}}, "lastState": {}}]});
    p
}

/// A scheduled pod whose container waits (`ImagePullBackOff`, `CrashLoopBackOff`, ...).
pub fn pod_waiting(
    ns: &str,
    deploy: &str,
    hash: &str,
    i: u32,
    image: &str,
    reason: &str,
    created: i64,
    last_state: Value,
) -> Value {
    let mut p = app_pod_base(ns, deploy, hash, i, image, created);
    p["spec"]["nodeName"] = json!("node-1");
    p["status"] = json!({"phase": "Pending", "startTime": at(created + 1),
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": at(created)},
                       {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": at(created)}],
        "containerStatuses": [{"name": deploy, "image": image, "imageID": "", "ready": false, "restartCount": 3,
            "started": false, "state": {"waiting": {"reason": reason, "message": format!("Back-off pulling image \"{image}\"")}}, "lastState": last_state}]});
    p
}

/// A pod the scheduler cannot place.
pub fn pod_unscheduled(
    ns: &str,
    deploy: &str,
    hash: &str,
    i: u32,
    image: &str,
    created: i64,
    message: &str,
) -> Value {
    let mut p = app_pod_base(ns, deploy, hash, i, image, created);
    p["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastTransitionTime": at(created)}]);
    p
}

/// A kaniko build pod: running (`exit` None) or terminated.
pub fn kaniko_pod(
    ns: &str,
    name: &str,
    destination: &str,
    started: i64,
    exit: Option<(i32, i64)>,
) -> Value {
    let state = match exit {
        None => json!({"running": {"startedAt": at(started)}}),
        Some((code, finished)) => {
            json!({"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
            "startedAt": at(started), "finishedAt": at(finished)}})
        }
    };
    let phase = match exit {
        None => "Running",
        Some((0, _)) => "Succeeded",
        Some(_) => "Failed",
    };
    json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-pod-{ns}-{name}"), "creationTimestamp": at(started - 2),
            "labels": {"job-name": name}},
        "spec": {"restartPolicy": "Never", "nodeName": "node-1",
            "containers": [{"name": "kaniko", "image": KANIKO,
                "args": ["--context=git://git.example.com/shop/app.git", "--dockerfile=Dockerfile", format!("--destination={destination}")]}]},
        "status": {"phase": phase, "startTime": at(started - 1),
            "containerStatuses": [{"name": "kaniko", "image": KANIKO, "imageID": format!("gcr.io/kaniko-project/executor@{}", digest("kaniko")),
                "ready": exit.is_none(), "restartCount": 0, "started": exit.is_none(), "state": state, "lastState": {}}]}})
}

/// kaniko's default `color` log ending with the push of `repo@digest`.
pub fn kaniko_log(destination: &str, repo: &str, digest: &str, push_secs: u32) -> String {
    let line = |s: u32, m: &str| format!("\x1b[36mINFO\x1b[0m[{s:04}] {m:<44} \n");
    let mut out = String::new();
    out += &line(0, "Resolved base name node:20-alpine to build");
    out += &line(
        3,
        "Unpacking rootfs as cmd RUN npm ci --omit=dev requires it.",
    );
    out += &line(12, "RUN npm ci --omit=dev");
    out += &line(push_secs - 8, &format!("Pushing image to {destination}"));
    out += &line(push_secs, &format!("Pushed {repo}@{digest}"));
    out
}

/// A core/v1 Event about a pod, as kubelet or the scheduler write it.
pub fn pod_event(
    ns: &str,
    pod: &str,
    reason: &str,
    message: &str,
    first: i64,
    last: i64,
    count: i64,
    source: &str,
) -> Value {
    json!({"kind": "Event", "apiVersion": "v1",
        "metadata": {"name": format!("{pod}.{}", reason.to_lowercase()), "namespace": ns, "creationTimestamp": at(first)},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "apiVersion": "v1"},
        "reason": reason, "message": message, "type": if reason == "Pulling" || reason == "Pulled" { "Normal" } else { "Warning" },
        "source": {"component": source}, "firstTimestamp": at(first), "lastTimestamp": at(last), "count": count,
        "reportingComponent": source})
}

/// A Tekton TaskRun pod whose `step-build-and-push` runs the catalog's buildah script pushing
/// `destination`, terminated with exit 0 and the step's results as its termination message
/// (tektoncd/pipeline pkg/result: a JSON array of `{key, value, type}`).
pub fn tekton_buildah_pod(ns: &str, name: &str, destination: &str, results: &Value) -> Value {
    let script = format!(
        "buildah --storage-driver=vfs bud --format=oci -f ./Dockerfile -t {destination} .\nbuildah --storage-driver=vfs push --digestfile /tmp/image-digest {destination} docker://{destination}\ntee /tekton/results/IMAGE_DIGEST < /tmp/image-digest"
    );
    tekton_step_pod(ns, name, "quay.io/buildah/stable:v1.28.2", &script, results)
}

/// A Tekton TaskRun pod whose one step `step-build-and-push` ran `script` in `image` and exited
/// 0 with `results` as its termination message.
pub fn tekton_step_pod(ns: &str, name: &str, image: &str, script: &str, results: &Value) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-pod-{ns}-{name}"), "creationTimestamp": at(-120),
            "labels": {"tekton.dev/taskRun": name.trim_end_matches("-pod"), "tekton.dev/task": "buildah"}},
        "spec": {"restartPolicy": "Never", "nodeName": "node-1",
            "containers": [{"name": "step-build-and-push", "image": image,
                "command": ["/tekton/bin/entrypoint"],
                "args": ["-post_file", "/tekton/run/0/out", "-termination_path", "/tekton/termination",
                    "-step_metadata_dir", "/tekton/run/0/status", "-entrypoint", "/tekton/scripts/script-0-abcde", "--",
                    "/bin/bash", "-c", script]}]},
        "status": {"phase": "Succeeded", "startTime": at(-119),
            "containerStatuses": [{"name": "step-build-and-push", "image": image,
                "imageID": format!("quay.io/buildah/stable@{}", digest("buildah")),
                "ready": false, "restartCount": 0, "started": false,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": results.to_string(),
                    "startedAt": at(-118), "finishedAt": at(-60)}}, "lastState": {}}]}})
}

/// A Tekton TaskRun (tekton.dev/v1) that succeeded and reported `IMAGE_URL`/`IMAGE_DIGEST`
/// results (tektoncd/pipeline docs/tasks.md; the catalog's buildah and kaniko tasks).
pub fn task_run(ns: &str, name: &str, image: &str, digest: &str, finished: i64) -> Value {
    json!({"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-taskrun-{ns}-{name}"),
            "creationTimestamp": at(finished - 120),
            "labels": {"tekton.dev/task": "buildah", "app.kubernetes.io/managed-by": "tekton-pipelines"}},
        "spec": {"taskRef": {"kind": "Task", "name": "buildah"}, "params": [{"name": "IMAGE", "value": image}],
            "serviceAccountName": "default", "timeout": "1h0m0s"},
        "status": {"podName": format!("{name}-pod"), "startTime": at(finished - 118), "completionTime": at(finished),
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded",
                "message": "All Steps have completed executing", "lastTransitionTime": at(finished)}],
            "results": [{"name": "IMAGE_DIGEST", "type": "string", "value": digest},
                        {"name": "IMAGE_URL", "type": "string", "value": format!("{image}\n")}]}})
}
