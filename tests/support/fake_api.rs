//! A fake Kubernetes API server for tests (dev-only: it lives under tests/ and is never built
//! into the shipped binary). It serves what kube-verdict's live source asks for, over plain HTTP
//! on 127.0.0.1:
//!
//! - list with paging (`limit`/`continue`) and a `resourceVersion`;
//! - watch as a chunked stream of JSON lines with BOOKMARKs, `410 Expired` for a resource
//!   version older than the last compaction, and a server-side timeout;
//! - pod logs (`/api/v1/namespaces/NS/pods/NAME/log?container=&limitBytes=&tailLines=`);
//! - faults: 500s on lists, 429 with `Retry-After`, dropped watch connections, 403 on logs, slow
//!   responses, a whole-server outage (503), and compaction.
//!
//! Tests drive it as a timeline: `apply`/`delete` objects at the moments they choose.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fake"
)]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

/// A resource the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Res {
    Nodes,
    Pods,
    Events,
    Deployments,
    ReplicaSets,
    Jobs,
    /// Tekton TaskRuns (tekton.dev/v1), discoverable only with `Faults::tekton_api`.
    TaskRuns,
    /// Secrets (read one by one: pull secrets).
    Secrets,
}

impl Res {
    fn parse(group_path: &str, plural: &str) -> Option<Res> {
        Some(match (group_path, plural) {
            ("api/v1", "nodes") => Res::Nodes,
            ("api/v1", "pods") => Res::Pods,
            ("api/v1", "events") => Res::Events,
            ("apis/apps/v1", "deployments") => Res::Deployments,
            ("apis/apps/v1", "replicasets") => Res::ReplicaSets,
            ("apis/batch/v1", "jobs") => Res::Jobs,
            ("apis/tekton.dev/v1", "taskruns") => Res::TaskRuns,
            ("api/v1", "secrets") => Res::Secrets,
            _ => return None,
        })
    }

    fn kind(self) -> &'static str {
        match self {
            Res::Nodes => "Node",
            Res::Pods => "Pod",
            Res::Events => "Event",
            Res::Deployments => "Deployment",
            Res::ReplicaSets => "ReplicaSet",
            Res::Jobs => "Job",
            Res::TaskRuns => "TaskRun",
            Res::Secrets => "Secret",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Res::Nodes | Res::Pods | Res::Events | Res::Secrets => "v1",
            Res::Deployments | Res::ReplicaSets => "apps/v1",
            Res::Jobs => "batch/v1",
            Res::TaskRuns => "tekton.dev/v1",
        }
    }

    /// The resource an object of this kind belongs to.
    pub fn of_kind(kind: &str) -> Option<Res> {
        Some(match kind {
            "Node" => Res::Nodes,
            "Pod" => Res::Pods,
            "Event" => Res::Events,
            "Deployment" => Res::Deployments,
            "ReplicaSet" => Res::ReplicaSets,
            "Job" => Res::Jobs,
            "TaskRun" => Res::TaskRuns,
            "Secret" => Res::Secrets,
            _ => return None,
        })
    }
}

/// Faults to inject. Counters count down one per request.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// The next N list requests answer 500.
    pub list_errors: u32,
    /// The next N requests answer 429 with `Retry-After: 1`.
    pub throttle: u32,
    /// Pod log requests answer 403 (RBAC without `pods/log`).
    pub logs_forbidden: bool,
    /// The next N pod log requests answer 500 (the kubelet behind the API server failing).
    pub log_errors: u32,
    /// Every response is delayed this long.
    pub delay: Duration,
    /// Every request answers 500 (the API server, or etcd behind it, is unavailable). Not 503:
    /// kube's client retries 429/503/504 itself for a long time, which would hide the outage.
    pub down: bool,
    /// Lists of these resources hang until cleared (to observe "not synced").
    pub hold_lists: Vec<Res>,
    /// Lists and watches of these resources answer 403 (RBAC without the verb).
    pub forbid: Vec<Res>,
    /// Watch requests of these resources answer 500 (lists still work): a partial failure.
    pub watch_errors: Vec<Res>,
    /// Watch requests of these resources are answered 200 and then send nothing, no event and
    /// no bookmark, and are never closed: a half-open connection.
    pub silent_watches: Vec<Res>,
    /// An expired resourceVersion is answered with an HTTP 410 status on the watch request
    /// instead of a 410 ERROR event inside the stream (some proxies and older servers).
    pub gone_as_status: bool,
    /// Discovery serves `tekton.dev/v1` (the Tekton CRDs are installed); else it answers 404,
    /// and so do TaskRun lists and watches (a CRD deleted).
    pub tekton_api: bool,
    /// Discovery of `tekton.dev/v1` answers 503 (an aggregated API whose service is down).
    pub tekton_discovery_error: bool,
}

struct Stored {
    rv: u64,
    obj: Value,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<(Res, String, String), Stored>,
    /// (rv, resource, namespace, type, object) for watches.
    history: Vec<(u64, Res, String, &'static str, Value)>,
    /// Watches from a resource version older than this get 410.
    compacted: u64,
    logs: HashMap<(String, String, String), String>,
    faults: Faults,
    /// Bumped to close every open watch.
    watch_epoch: u64,
    /// Requests seen, for assertions: (method path?query).
    requests: Vec<String>,
}

/// The fake server. Dropping it leaves the server task running until the test's runtime ends.
#[derive(Clone)]
pub struct FakeApi {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    pub addr: SocketAddr,
}

impl FakeApi {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start() -> FakeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let fake = FakeApi {
            inner: Arc::new(Mutex::new(Inner {
                rv: 1000,
                compacted: 0,
                ..Default::default()
            })),
            changed: Arc::new(Notify::new()),
            addr,
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// Starts the server on its own runtime thread, for blocking tests. The thread ends with the
    /// test process.
    pub fn spawn() -> FakeApi {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let fake = FakeApi::start().await;
                let _ = tx.send(fake);
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("fake API server started")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A kubeconfig pointing at this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: test-token\n",
            self.addr
        )
    }

    /// Adds or replaces an object (kind from its `kind` field, which is removed as the API
    /// server does for list items but kept in watch events).
    pub fn apply(&self, obj: Value) {
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let res =
            Res::of_kind(&kind).unwrap_or_else(|| panic!("fake API cannot store kind {kind:?}"));
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut g = self.lock();
        g.rv += 1;
        let rv = g.rv;
        let mut obj = obj;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(format!("uid-{}-{ns}-{name}", kind.to_lowercase()));
        }
        let key = (res, ns.clone(), name);
        let typ = if g.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        g.objects.insert(
            key,
            Stored {
                rv,
                obj: obj.clone(),
            },
        );
        g.history.push((rv, res, ns, typ, obj));
        drop(g);
        self.changed.notify_waiters();
    }

    /// Deletes an object.
    pub fn delete(&self, kind: &str, ns: &str, name: &str) {
        let res = Res::of_kind(kind).expect("kind");
        let mut g = self.lock();
        if let Some(s) = g.objects.remove(&(res, ns.to_string(), name.to_string())) {
            g.rv += 1;
            let rv = g.rv;
            let mut obj = s.obj;
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            g.history.push((rv, res, ns.to_string(), "DELETED", obj));
        }
        drop(g);
        self.changed.notify_waiters();
    }

    /// Sets a container's log.
    pub fn set_log(&self, ns: &str, pod: &str, container: &str, text: &str) {
        self.lock()
            .logs
            .insert((ns.into(), pod.into(), container.into()), text.into());
    }

    /// Changes the faults.
    pub fn faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.lock().faults);
        self.changed.notify_waiters();
    }

    /// Closes every open watch connection (clients must re-watch).
    pub fn drop_watches(&self) {
        self.lock().watch_epoch += 1;
        self.changed.notify_waiters();
    }

    /// Forgets history: a watch from an older resource version gets `410 Expired`; open watches
    /// are closed so that clients hit it.
    pub fn compact(&self) {
        let mut g = self.lock();
        g.rv += 1;
        g.compacted = g.rv;
        g.history.clear();
        g.watch_epoch += 1;
        drop(g);
        self.changed.notify_waiters();
    }

    /// An etcd restore from a backup: the server's resourceVersion goes back to `rv`, history is
    /// lost and open watches close. A watch from a newer resourceVersion than the server's then
    /// gets `504 Too large resource version`, as kube-apiserver answers it.
    pub fn restore(&self, rv: u64) {
        let mut g = self.lock();
        g.rv = rv;
        g.compacted = 0;
        g.history.clear();
        g.watch_epoch += 1;
        drop(g);
        self.changed.notify_waiters();
    }

    /// Requests seen so far (`path?query`).
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/").replace("%3D", "=")))
        .collect()
}

/// Parses `/api/v1[/namespaces/NS]/PLURAL[/NAME[/log]]` and the `apis/GROUP/VERSION` forms.
fn route(path: &str) -> Option<(Res, Option<String>, Option<String>, bool)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match *parts.first()? {
        "api" => (format!("{}/{}", parts[0], parts.get(1)?), &parts[2..]),
        "apis" => (
            format!("{}/{}/{}", parts[0], parts.get(1)?, parts.get(2)?),
            &parts[3..],
        ),
        _ => return None,
    };
    let (ns, rest) = if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let res = Res::parse(&group, rest.first()?)?;
    let name = rest.get(1).map(|s| s.to_string());
    let log = rest.get(2) == Some(&"log");
    Some((res, ns, name, log))
}

async fn handle(State(fake): State<FakeApi>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let q = query_map(req.uri().query());
    let delay = {
        let mut g = fake.lock();
        g.requests
            .push(format!("{}?{}", path, req.uri().query().unwrap_or("")));
        if g.faults.down {
            return status(
                500,
                "InternalError",
                "Internal error occurred: etcdserver: leader changed",
            );
        }
        if g.faults.throttle > 0 {
            g.faults.throttle -= 1;
            let mut r = status(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            return r;
        }
        g.faults.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if path == "/version" {
        let v = json!({"major": "1", "minor": "33", "gitVersion": "v1.33.4", "platform": "linux/amd64"});
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response();
    }
    if path == "/apis/tekton.dev/v1" {
        if fake.lock().faults.tekton_discovery_error {
            return status(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            );
        }
        if !fake.lock().faults.tekton_api {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        let v = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "tekton.dev/v1",
            "resources": [{"name": "taskruns", "singularName": "taskrun", "namespaced": true, "kind": "TaskRun",
                "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
                "shortNames": ["tr", "trs"], "categories": ["tekton", "tekton-pipelines"]}]});
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response();
    }
    let Some((res, ns, name, log)) = route(&path) else {
        return status(
            404,
            "NotFound",
            &format!("the server could not find the requested resource ({path})"),
        );
    };
    if log {
        let (Some(ns), Some(pod)) = (ns, name) else {
            return status(404, "NotFound", "no pod");
        };
        let mut g = fake.lock();
        if g.faults.log_errors > 0 {
            g.faults.log_errors -= 1;
            return status(
                500,
                "InternalError",
                "Get \"https://10.0.3.7:10250/containerLogs/ci/build/kaniko\": dial tcp 10.0.3.7:10250: connect: connection refused",
            );
        }
        if g.faults.logs_forbidden {
            return status(
                403,
                "Forbidden",
                &format!(
                    "pods \"{pod}\" is forbidden: User \"system:serviceaccount:kube-verdict:kube-verdict\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"{ns}\""
                ),
            );
        }
        let container = q.get("container").cloned().unwrap_or_default();
        let Some(text) = g.logs.get(&(ns.clone(), pod.clone(), container.clone())) else {
            return status(404, "NotFound", &format!("pods \"{pod}\" not found"));
        };
        let mut text = text.clone();
        if let Some(n) = q.get("tailLines").and_then(|v| v.parse::<usize>().ok()) {
            let lines: Vec<&str> = text.lines().collect();
            text = lines[lines.len().saturating_sub(n)..].join("\n") + "\n";
        }
        if let Some(n) = q.get("limitBytes").and_then(|v| v.parse::<usize>().ok()) {
            text.truncate(n.min(text.len()));
        }
        return (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response();
    }
    if res == Res::TaskRuns && !fake.lock().faults.tekton_api {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    }
    if fake.lock().faults.forbid.contains(&res) {
        return status(
            403,
            "Forbidden",
            &format!(
                "{}s is forbidden: User \"system:serviceaccount:kube-verdict:kube-verdict\" cannot list resource in the namespace",
                res.kind().to_lowercase()
            ),
        );
    }
    if let (Some(ns), Some(name)) = (&ns, &name) {
        let g = fake.lock();
        return match g.objects.get(&(res, ns.clone(), name.clone())) {
            Some(stored) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                stored.obj.to_string(),
            )
                .into_response(),
            None => status(
                404,
                "NotFound",
                &format!("{}s \"{name}\" not found", res.kind().to_lowercase()),
            ),
        };
    }
    if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return watch(fake, res, ns, q).await;
    }
    list(fake, res, ns, q).await
}

async fn list(fake: FakeApi, res: Res, ns: Option<String>, q: HashMap<String, String>) -> Response {
    loop {
        let held = fake.lock().faults.hold_lists.contains(&res);
        if !held {
            break;
        }
        let notified = fake.changed.notified();
        tokio::time::timeout(Duration::from_millis(100), notified)
            .await
            .ok();
    }
    let mut g = fake.lock();
    if g.faults.list_errors > 0 {
        g.faults.list_errors -= 1;
        return status(
            500,
            "InternalError",
            "Internal error occurred: etcdserver: request timed out",
        );
    }
    // A page is read from where the last one ended (the continue token is the list's
    // resourceVersion and the last key given: `rv/namespace/name`), so a list in pages costs each
    // page's items only. Every page answers at the first page's resourceVersion, as a real API
    // server does: an object changed between pages is listed as it is now (this fake keeps no
    // history of objects), and the watch the client starts from that resourceVersion replays
    // the change, so the client ends with what the server holds.
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let token = q.get("continue").and_then(|c| {
        let (rv, key) = c.split_once('/')?;
        let (n, name) = key.split_once('/')?;
        Some((rv.parse::<u64>().ok()?, n.to_string(), name.to_string()))
    });
    let (list_rv, from) = match token {
        Some((rv, n, name)) => (rv, Bound::Excluded((res, n, name))),
        None => (
            g.rv,
            Bound::Included((res, ns.clone().unwrap_or_default(), String::new())),
        ),
    };
    let mut page: Vec<Value> = Vec::new();
    let mut last: Option<(String, String)> = None;
    let mut more = false;
    for ((r, n, name), s) in g.objects.range((from, Bound::Unbounded)) {
        if *r != res || ns.as_ref().is_some_and(|ns| ns != n) {
            break;
        }
        if page.len() == limit {
            more = true;
            break;
        }
        let mut o = s.obj.clone();
        if let Some(m) = o.as_object_mut() {
            m.remove("kind");
            m.remove("apiVersion");
        }
        page.push(o);
        last = Some((n.clone(), name.clone()));
    }
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if let (true, Some((n, name))) = (more, last) {
        meta["continue"] = json!(format!("{list_rv}/{n}/{name}"));
    }
    let body = json!({"kind": format!("{}List", res.kind()), "apiVersion": res.api_version(), "metadata": meta, "items": page});
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn watch(
    fake: FakeApi,
    res: Res,
    ns: Option<String>,
    q: HashMap<String, String>,
) -> Response {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(290)
        .min(30);
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let (expired, current, failing, gone_as_status, silent) = {
        let g = fake.lock();
        (
            from < g.compacted,
            g.rv,
            g.faults.watch_errors.contains(&res),
            g.faults.gone_as_status,
            g.faults.silent_watches.contains(&res),
        )
    };
    if silent {
        let never = futures::stream::pending::<Result<Bytes, Infallible>>();
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(never))
            .unwrap_or_else(|_| status(500, "InternalError", "body"));
    }
    if failing {
        return status(
            500,
            "InternalError",
            "Internal error occurred: watch chan error: etcdserver: no leader",
        );
    }
    if from > current {
        return status(
            504,
            "Timeout",
            &format!("Timeout: Too large resource version: {from}, current: {current}"),
        );
    }
    if expired && gone_as_status {
        return status(
            410,
            "Expired",
            &format!(
                "too old resource version: {from} ({})",
                fake.lock().compacted
            ),
        );
    }
    if expired {
        let line = watch_line(
            "ERROR",
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": format!("too old resource version: {from} ({})", fake.lock().compacted),
            "reason": "Expired", "code": 410}),
        );
        let _ = tx.send(Ok(Bytes::from(line))).await;
    } else {
        tokio::spawn(async move {
            let epoch = fake.lock().watch_epoch;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            let mut sent = from;
            let mut last_bookmark = tokio::time::Instant::now();
            loop {
                let notified = fake.changed.notified();
                let (lines, now_rv, closed) = {
                    let g = fake.lock();
                    // History is in resourceVersion order: only what follows `sent` is read.
                    let after = g.history.partition_point(|(rv, ..)| *rv <= sent);
                    let lines: Vec<(u64, String)> = g.history[after..]
                        .iter()
                        .filter(|(_, r, n, _, _)| *r == res && ns.as_ref().is_none_or(|ns| ns == n))
                        .map(|(rv, _, _, t, o)| (*rv, watch_line(t, o)))
                        .collect();
                    (lines, g.rv, g.watch_epoch != epoch || g.faults.down)
                };
                if closed {
                    return;
                }
                for (rv, l) in lines {
                    sent = rv;
                    if tx.send(Ok(Bytes::from(l))).await.is_err() {
                        return;
                    }
                }
                if last_bookmark.elapsed() >= Duration::from_secs(1) {
                    last_bookmark = tokio::time::Instant::now();
                    let b = watch_line(
                        "BOOKMARK",
                        &json!({"kind": res.kind(), "apiVersion": res.api_version(),
                        "metadata": {"resourceVersion": now_rv.max(sent).to_string()}}),
                    );
                    if tx.send(Ok(Bytes::from(b))).await.is_err() {
                        return;
                    }
                }
                if tokio::time::Instant::now() >= deadline {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(250), notified).await;
            }
        });
    }
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| status(500, "InternalError", "body"))
}

/// One line of a watch stream, `type` before `object` as the API server writes it
/// (apimachinery's `metav1.WatchEvent`; `json!` would sort `object` first).
fn watch_line(typ: &str, object: &Value) -> String {
    format!("{{\"type\":{},\"object\":{object}}}\n", json!(typ))
}
