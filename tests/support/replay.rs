//! Replays an offline dump (`kubectl cluster-info dump --output-directory` plus `kubectl get -o
//! json` files, the format `check --dump` reads) onto a real API server, so that the same dump
//! can be judged offline and live and the two compared.
//!
//! Run it against `ControlPlane::up_for_replay()` (no controllers, no scheduler): what the dump
//! holds is what the API server holds. What a replay cannot keep, and what it does instead:
//! - the server sets `metadata.uid`, `creationTimestamp`, `resourceVersion` and `generation`:
//!   owner references and events' `involvedObject.uid` are rewritten to the new UIDs, and
//!   `status.observedGeneration` keeps its distance from `metadata.generation`;
//! - time moves on: every timestamp in statuses and events is shifted by (replay time − the
//!   dump's time), so ages are as the dump had them (the server-set `creationTimestamp` is not;
//!   the engine reads it only for a Deployment without a `Progressing` condition);
//! - statuses go through the status subresource, as the controllers and kubelets write them;
//! - admission gives every new Node the `node.kubernetes.io/not-ready` taint: the dump's taints
//!   are written back after creation;
//! - logs (`<ns>/<pod>/logs.txt`) are served by KWOK's kubelet API through the API server's
//!   `pods/log` path: the pod's node is annotated for KWOK and its address set to KWOK's; pods
//!   carry `kube-verdict.test/kubelet: manual` so KWOK never writes their status;
//! - a pod or Job being deleted in the dump (`deletionTimestamp`) cannot be created as such and
//!   is counted in `skipped`;
//! - it reads the JSON files of a dump (`kubectl cluster-info dump`, `kubectl get -o json`
//!   Lists); YAML files and bare arrays, which `check --dump` also reads, are not replayed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::control_plane::{ControlPlane, MANUAL_KUBELET};

/// What a replay wrote.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Objects created, per kind.
    pub created: BTreeMap<String, usize>,
    /// Container logs served through KWOK.
    pub logs: usize,
    /// Objects that could not be replayed, with why.
    pub skipped: Vec<String>,
    /// How far every timestamp was moved.
    pub shift: SignedDuration,
}

/// The kinds the engine reads, in the order they are created (owners before what they own).
const KINDS: [&str; 6] = ["Node", "Deployment", "ReplicaSet", "Job", "Pod", "Event"];

/// Every object of the six kinds in the dump under `dir`, per kind, and every log file.
fn read_dump(dir: &Path) -> (HashMap<String, Vec<Value>>, Vec<PathBuf>) {
    let mut objects: HashMap<String, Vec<Value>> = HashMap::new();
    let mut logs = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "logs.txt") {
                logs.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let list_kind = doc["kind"].as_str().unwrap_or("List");
                let items = match doc["items"].as_array() {
                    Some(items) => items.clone(),
                    None => vec![doc.clone()],
                };
                for mut item in items {
                    let kind = item["kind"]
                        .as_str()
                        .or_else(|| list_kind.strip_suffix("List").filter(|k| !k.is_empty()))
                        .unwrap_or_default()
                        .to_string();
                    if !KINDS.contains(&kind.as_str()) {
                        continue;
                    }
                    if item["apiVersion"].is_null() {
                        item["apiVersion"] = doc["apiVersion"].clone();
                    }
                    item["kind"] = json!(kind);
                    objects.entry(kind).or_default().push(item);
                }
            }
        }
    }
    (objects, logs)
}

/// Moves every RFC 3339 timestamp under `v` by `by`, keeping its precision (seconds, or the
/// microseconds of a `MicroTime`).
fn shift_times(v: &mut Value, by: SignedDuration) {
    match v {
        Value::String(s) => {
            let looks_like_time = s.len() >= 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T';
            if let Some(t) = looks_like_time
                .then(|| s.parse::<Timestamp>().ok())
                .flatten()
            {
                let moved = t + by;
                *s = if s.contains('.') {
                    moved.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
                } else {
                    moved.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
                };
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shift_times(x, by)),
        Value::Object(o) => o.values_mut().for_each(|x| shift_times(x, by)),
        _ => {}
    }
}

/// The metadata a client may send on create: name, namespace, labels, annotations, owners.
fn clean_metadata(obj: &mut Value) {
    if let Some(m) = obj["metadata"].as_object_mut() {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generateName",
        ] {
            m.remove(field);
        }
    }
}

/// Rewrites owner references to the UIDs the server gave the owners.
fn rewrite_owners(obj: &mut Value, uids: &HashMap<String, String>) {
    if let Some(owners) = obj["metadata"]["ownerReferences"].as_array_mut() {
        for o in owners {
            if let Some(new) = o["uid"].as_str().and_then(|u| uids.get(u)) {
                o["uid"] = json!(new);
            }
        }
    }
}

/// `kubectl create -f -` of `items` as one List; returns the created objects in order.
fn create_all(cp: &ControlPlane, items: Vec<Value>) -> Vec<Value> {
    if items.is_empty() {
        return vec![];
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    let (ok, out, err) = cp.try_kubectl(&["create", "-f", "-", "-o", "json"], Some(&list));
    assert!(ok, "replay: kubectl create failed: {err}");
    // One JSON document per created object, one after the other.
    serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .map(|d| d.expect("kubectl create -o json"))
        .flat_map(|d| match d["items"].as_array() {
            Some(items) => items.clone(),
            None => vec![d],
        })
        .collect()
}

/// `kubectl replace [--subresource=status] -f -` of `items` as one List (no resourceVersion:
/// an unconditional write, as the replay is the only writer).
fn replace_all(cp: &ControlPlane, mut items: Vec<Value>, subresource: Option<&str>) {
    if items.is_empty() {
        return;
    }
    for i in &mut items {
        if let Some(m) = i["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    let mut args = vec!["replace", "-f", "-"];
    let sub;
    if let Some(s) = subresource {
        sub = format!("--subresource={s}");
        args.push(&sub);
    }
    let (ok, _, err) = cp.try_kubectl(&args, Some(&list));
    assert!(ok, "replay: kubectl {args:?} failed: {err}");
}

/// `status.observedGeneration` at the same distance below the new `metadata.generation` (1
/// after a create) as in the dump.
fn keep_observed_distance(dumped: &Value, status: &mut Value) {
    let (Some(generation), Some(observed)) = (
        dumped["metadata"]["generation"].as_i64(),
        status["observedGeneration"].as_i64(),
    ) else {
        return;
    };
    status["observedGeneration"] = json!((1 - (generation - observed)).max(0));
}

/// The containers' logs of one `logs.txt` (cluster-info dump markers, or one container's
/// plain text), as (container, lines).
fn split_log(text: &str, containers: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("==== START logs for container ") {
            let name = rest
                .split(" of pod ")
                .next()
                .unwrap_or_default()
                .to_string();
            out.push((name, vec![]));
            current = Some(out.len() - 1);
        } else if line.starts_with("==== END logs for container ") {
            current = None;
        } else if let Some(i) = current {
            out[i].1.push(line.to_string());
        }
    }
    if out.is_empty() && containers.len() == 1 {
        out.push((
            containers[0].clone(),
            text.lines().map(str::to_string).collect(),
        ));
    }
    out
}

/// Applies the dump under `dir` to the API server of `cp`, moving its timestamps so that
/// `dump_now` (the time `check --dump` judges the dump at) becomes the present.
pub fn replay(cp: &ControlPlane, dir: &Path, dump_now: Timestamp) -> Replayed {
    let (mut objects, logs) = read_dump(dir);
    let shift = SignedDuration::from_secs((Timestamp::now() - dump_now).get_seconds());
    let mut done = Replayed {
        shift,
        ..Replayed::default()
    };
    let mut take = |kind: &str| objects.remove(kind).unwrap_or_default();
    let (nodes, deployments, replicasets, jobs, pods, events) = (
        take("Node"),
        take("Deployment"),
        take("ReplicaSet"),
        take("Job"),
        take("Pod"),
        take("Event"),
    );

    // Pods whose logs are replayed, and the nodes KWOK must serve them from.
    let mut pod_logs: Vec<(String, String, PathBuf)> = Vec::new();
    for path in &logs {
        let pod_dir = path.parent().unwrap();
        let pod = pod_dir.file_name().unwrap().to_string_lossy().to_string();
        let ns = pod_dir
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        pod_logs.push((ns, pod, path.clone()));
    }
    let kwok_nodes: BTreeSet<String> = pods
        .iter()
        .filter(|p| {
            pod_logs.iter().any(|(ns, name, _)| {
                p["metadata"]["namespace"] == ns.as_str() && p["metadata"]["name"] == name.as_str()
            })
        })
        .filter_map(|p| p["spec"]["nodeName"].as_str().map(str::to_string))
        .collect();

    // Namespaces, each with the ServiceAccount pods need (no controller makes it here).
    let namespaces: BTreeSet<String> = [&deployments, &replicasets, &jobs, &pods, &events]
        .into_iter()
        .flatten()
        .filter_map(|o| o["metadata"]["namespace"].as_str().map(str::to_string))
        .collect();
    let mut setup = String::new();
    for ns in &namespaces {
        setup.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: {ns}\n---\n"
        ));
    }
    if !setup.is_empty() {
        cp.apply(&setup);
    }

    let mut uids: HashMap<String, String> = HashMap::new();
    let kwok_port = cp.kwok_port();
    let record = |done: &mut Replayed,
                  uids: &mut HashMap<String, String>,
                  dumped: &[Value],
                  created: &[Value]| {
        for (d, c) in dumped.iter().zip(created) {
            if let (Some(old), Some(new)) =
                (d["metadata"]["uid"].as_str(), c["metadata"]["uid"].as_str())
            {
                uids.insert(old.to_string(), new.to_string());
            }
        }
        if let Some(kind) = dumped.first().and_then(|d| d["kind"].as_str()) {
            *done.created.entry(kind.to_string()).or_default() += created.len();
        }
    };

    // Nodes: spec as dumped (admission's not-ready taint removed), status as dumped.
    let mut to_create = Vec::new();
    for n in &nodes {
        let mut n = n.clone();
        clean_metadata(&mut n);
        n.as_object_mut().unwrap().remove("status");
        let name = n["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if kwok_nodes.contains(&name) {
            n["metadata"]["annotations"]["kwok.x-k8s.io/node"] = json!("fake");
        }
        to_create.push(n);
    }
    let created = create_all(cp, to_create);
    record(&mut done, &mut uids, &nodes, &created);
    let mut specs = Vec::new();
    let mut statuses = Vec::new();
    for (d, c) in nodes.iter().zip(&created) {
        let mut spec_fix = c.clone();
        spec_fix["spec"]["taints"] = d["spec"]["taints"].clone();
        specs.push(spec_fix);
        let mut s = c.clone();
        s["status"] = d["status"].clone();
        shift_times(&mut s["status"], shift);
        if kwok_nodes.contains(c["metadata"]["name"].as_str().unwrap_or_default()) {
            // The API server asks the node's InternalIP for logs: KWOK's kubelet API.
            s["status"]["addresses"] = json!([{"type": "InternalIP", "address": "127.0.0.1"}]);
            s["status"]["daemonEndpoints"] = json!({"kubeletEndpoint": {"Port": kwok_port}});
        }
        statuses.push(s);
    }
    replace_all(cp, specs, None);
    replace_all(cp, statuses, Some("status"));

    // Workloads, owners first; each with its status written after it exists.
    for (kind, dumped) in [
        ("Deployment", &deployments),
        ("ReplicaSet", &replicasets),
        ("Job", &jobs),
        ("Pod", &pods),
    ] {
        let mut keep = Vec::new();
        let mut to_create = Vec::new();
        for d in dumped.iter() {
            let name = format!(
                "{}/{}",
                d["metadata"]["namespace"].as_str().unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default()
            );
            if !d["metadata"]["deletionTimestamp"].is_null() {
                done.skipped
                    .push(format!("{kind} {name}: being deleted in the dump"));
                continue;
            }
            let mut o = d.clone();
            clean_metadata(&mut o);
            rewrite_owners(&mut o, &uids);
            o.as_object_mut().unwrap().remove("status");
            match kind {
                "Job" => {
                    // The server makes a Job's selector and its pods' controller-uid labels.
                    o["spec"].as_object_mut().map(|s| s.remove("selector"));
                    for labels in ["/metadata/labels", "/spec/template/metadata/labels"] {
                        if let Some(l) = o.pointer_mut(labels).and_then(Value::as_object_mut) {
                            l.remove("controller-uid");
                            l.remove("batch.kubernetes.io/controller-uid");
                        }
                    }
                }
                "Pod" => {
                    o["metadata"]["annotations"][MANUAL_KUBELET] = json!("manual");
                }
                _ => {}
            }
            keep.push(d.clone());
            to_create.push(o);
        }
        let created = create_all(cp, to_create);
        record(&mut done, &mut uids, &keep, &created);
        let mut statuses = Vec::new();
        for (d, c) in keep.iter().zip(&created) {
            if d["status"].is_null() {
                continue;
            }
            let mut s = c.clone();
            s["status"] = d["status"].clone();
            shift_times(&mut s["status"], shift);
            keep_observed_distance(d, &mut s["status"]);
            statuses.push(s);
        }
        replace_all(cp, statuses, Some("status"));
    }

    // Logs, through KWOK: one CRI-format file per container and a Logs object per pod.
    let log_dir = cp.dir().join("replay-logs");
    std::fs::create_dir_all(&log_dir).unwrap();
    let mut log_objects = String::new();
    for (ns, pod, path) in &pod_logs {
        let Some(p) = pods.iter().find(|p| {
            p["metadata"]["namespace"] == ns.as_str() && p["metadata"]["name"] == pod.as_str()
        }) else {
            done.skipped
                .push(format!("log {}: no such pod in the dump", path.display()));
            continue;
        };
        if p["spec"]["nodeName"]
            .as_str()
            .is_none_or(|n| !nodes.iter().any(|x| x["metadata"]["name"] == n))
        {
            done.skipped.push(format!(
                "log of {ns}/{pod}: its node is not in the dump (no kubelet to serve it)"
            ));
            continue;
        }
        let containers: Vec<String> = p["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(p["spec"]["initContainers"].as_array().into_iter().flatten())
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let mut entries = Vec::new();
        for (container, lines) in split_log(&text, &containers) {
            let file = log_dir.join(format!("{ns}_{pod}_{container}.log"));
            let stamp = Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%S.%9fZ")
                .to_string();
            let body: String = lines
                .iter()
                .map(|l| format!("{stamp} stdout F {l}\n"))
                .collect();
            std::fs::write(&file, body).unwrap();
            entries.push(json!({"containers": [container], "logsFile": file}));
            done.logs += 1;
        }
        log_objects.push_str(
            &json!({
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "Logs",
                "metadata": {"name": pod, "namespace": ns},
                "spec": {"logs": entries},
            })
            .to_string(),
        );
        log_objects.push('\n');
    }
    if !log_objects.is_empty() {
        cp.apply(&log_objects);
    }

    // Events last: they point at the objects by their new UIDs.
    let mut to_create = Vec::new();
    for e in &events {
        let mut e = e.clone();
        clean_metadata(&mut e);
        let Some(fields) = e.as_object_mut() else {
            continue;
        };
        for (key, value) in fields.iter_mut() {
            match key.as_str() {
                "metadata" => {}
                // core/v1 `involvedObject`, events.k8s.io/v1 `regarding` and `related`.
                "involvedObject" | "regarding" | "related" => {
                    if let Some(o) = value.as_object_mut() {
                        o.remove("resourceVersion");
                        if let Some(new) = o
                            .get("uid")
                            .and_then(Value::as_str)
                            .and_then(|u| uids.get(u))
                        {
                            o.insert("uid".into(), json!(new));
                        }
                    }
                }
                // firstTimestamp, lastTimestamp, eventTime, series, deprecated*Timestamp.
                _ => shift_times(value, shift),
            }
        }
        to_create.push(e);
    }
    let created = create_all(cp, to_create);
    record(&mut done, &mut uids, &events, &created);
    done
}

/// Deletes everything a replay made (force: no kubelet finishes a graceful deletion), so the
/// next dump starts from an empty cluster.
pub fn clear(cp: &ControlPlane) {
    for kind in [
        "events",
        "pods",
        "jobs",
        "replicasets",
        "deployments",
        "logs.kwok.x-k8s.io",
    ] {
        cp.kubectl(&[
            "delete",
            kind,
            "--all",
            "-A",
            "--grace-period=0",
            "--force",
            "--wait=false",
        ]);
    }
    cp.kubectl(&["delete", "nodes", "--all", "--wait=false"]);
}
