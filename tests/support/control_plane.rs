//! A real control plane for a test: `scripts/control-plane.sh up` (etcd, kube-apiserver,
//! kube-scheduler and kube-controller-manager v1.35.4, KWOK for the kubelets) in a temporary
//! directory, stopped with `down` when dropped, also when the test fails. `kubectl` talks to it
//! with the admin kubeconfig; a test writes what a kubelet would through the status subresource
//! for pods annotated `kube-verdict.test/kubelet: manual` (KWOK leaves those alone).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The annotation that keeps KWOK from writing a pod's status (the test is its kubelet).
pub const MANUAL_KUBELET: &str = "kube-verdict.test/kubelet";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/control-plane.sh")
}

/// One control plane at a time per test binary: two on 2 cores make every timing figure and
/// every wait of the other noisy.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running control plane; `down` on drop.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl ControlPlane {
    /// Starts one, or returns None (with a loud SKIP) when the binaries are not built and this
    /// is not CI; in CI (`CI` set) a missing build fails the test: `scripts/test.sh` builds it.
    pub fn up() -> Option<ControlPlane> {
        Self::up_with("")
    }

    /// `up` with extra kube-apiserver flags (`KUBE_VERDICT_APISERVER_FLAGS`).
    pub fn up_with(apiserver_flags: &str) -> Option<ControlPlane> {
        Self::up_env(&[("KUBE_VERDICT_APISERVER_FLAGS", apiserver_flags)])
    }

    /// `up` for replaying a dump: no kube-controller-manager and no kube-scheduler, so the
    /// objects stay as the dump has them (no rollout, no garbage collection, no binding); KWOK
    /// still serves the kubelet API (logs) of the nodes annotated for it.
    pub fn up_for_replay() -> Option<ControlPlane> {
        Self::up_env(&[
            ("KUBE_VERDICT_CONTROLLERS", "none"),
            ("KUBE_VERDICT_SCHEDULER", "off"),
        ])
    }

    /// `up` with `control-plane.sh`'s environment (`KUBE_VERDICT_APISERVER_FLAGS`,
    /// `KUBE_VERDICT_CONTROLLERS`, `KUBE_VERDICT_SCHEDULER`).
    pub fn up_env(env: &[(&str, &str)]) -> Option<ControlPlane> {
        let built = Command::new("bash")
            .arg(script())
            .arg("built")
            .status()
            .is_ok_and(|s| s.success());
        if !built {
            assert!(
                std::env::var_os("CI").is_none(),
                "the control plane is required in CI (scripts/test.sh builds it)"
            );
            eprintln!("SKIP: the control plane is not built (bash scripts/control-plane.sh build)");
            return None;
        }
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("kv-control-plane-")
            .tempdir()
            .expect("temp dir");
        let out = Command::new("bash")
            .arg(script())
            .arg("up")
            .arg(dir.path())
            .envs(env.iter().copied())
            // Stopped by the script's watchdog if this process dies before Drop runs (Ctrl-C).
            .env("KUBE_VERDICT_OWNER_PID", std::process::id().to_string())
            .stderr(Stdio::piped())
            .output()
            .expect("run control-plane.sh up");
        let cp = ControlPlane {
            kubeconfig: dir.path().join("admin.kubeconfig"),
            dir,
            _turn: turn,
        };
        assert!(
            out.status.success(),
            "control-plane.sh up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(cp)
    }

    /// Stops kube-apiserver and starts it again (same port, same etcd).
    pub fn restart_apiserver(&self) {
        let ok = Command::new("bash")
            .arg(script())
            .arg("restart-apiserver")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "control-plane.sh restart-apiserver failed");
    }

    /// The API server's address.
    pub fn apiserver(&self) -> std::net::SocketAddr {
        let kc = std::fs::read_to_string(&self.kubeconfig).unwrap();
        let server = kc
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: https://"))
            .expect("server in the kubeconfig");
        server.trim().parse().expect("host:port")
    }

    /// The port of KWOK's kubelet API (on 127.0.0.1), for nodes whose kubelet it plays.
    pub fn kwok_port(&self) -> u16 {
        let ports = std::fs::read_to_string(self.dir.path().join("ports")).unwrap();
        ports
            .lines()
            .find_map(|l| l.strip_prefix("KWOK_PORT="))
            .and_then(|p| p.parse().ok())
            .expect("KWOK_PORT in the control plane's ports file")
    }

    /// The admin kubeconfig with its server replaced by `addr` (a proxy in front of it).
    pub fn kubeconfig_via(&self, addr: std::net::SocketAddr) -> String {
        let kc = std::fs::read_to_string(&self.kubeconfig).unwrap();
        kc.replace(
            &format!("https://{}", self.apiserver()),
            &format!("https://{addr}"),
        )
    }

    /// The state directory (logs under `logs/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs kubectl against the cluster; returns stdout, panics with stderr on failure.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_stdin(args, None)
    }

    /// `kubectl` with `input` on stdin.
    pub fn kubectl_stdin(&self, args: &[&str], input: Option<&str>) -> String {
        let (ok, out, err) = self.try_kubectl(args, input);
        assert!(ok, "kubectl {args:?} failed: {err}");
        out
    }

    /// `kubectl`, returning (success, stdout, stderr).
    pub fn try_kubectl(&self, args: &[&str], input: Option<&str>) -> (bool, String, String) {
        let mut child = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        if let Some(text) = input
            && let Some(mut stdin) = child.stdin.take()
        {
            let _ = stdin.write_all(text.as_bytes());
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("kubectl output");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `kubectl apply -f -` of a YAML or JSON document stream.
    pub fn apply(&self, manifest: &str) {
        self.kubectl_stdin(&["apply", "-f", "-"], Some(manifest));
    }

    /// `kubectl create -f -` (for objects such as Events that are created, not applied).
    pub fn create(&self, manifest: &str) {
        self.kubectl_stdin(&["create", "-f", "-"], Some(manifest));
    }

    /// Writes a pod's status as a kubelet would (a JSON merge patch of `status`).
    pub fn patch_pod_status(&self, ns: &str, pod: &str, status: &serde_json::Value) {
        let patch = serde_json::json!({ "status": status }).to_string();
        self.kubectl(&[
            "-n",
            ns,
            "patch",
            "pod",
            pod,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ]);
    }

    /// The names of the pods matching a label selector.
    pub fn pods(&self, ns: &str, selector: &str) -> Vec<String> {
        self.kubectl(&[
            "-n",
            ns,
            "get",
            "pods",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ])
        .split_whitespace()
        .map(str::to_string)
        .collect()
    }

    /// How many pods of `ns` are Running.
    pub fn running_pods(&self, ns: &str) -> usize {
        self.kubectl(&[
            "-n",
            ns,
            "get",
            "pods",
            "--field-selector=status.phase=Running",
            "-o",
            "name",
        ])
        .lines()
        .count()
    }

    /// Waits until `f(self)` holds, polling every 200 ms; panics after `limit`.
    pub fn wait(&self, what: &str, limit: Duration, mut f: impl FnMut(&ControlPlane) -> bool) {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if f(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("timed out after {limit:?} waiting for {what}");
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("down")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A KWOK node: `cpu` cores, `memory`, 110 pods, the given labels and taints.
pub fn node(
    name: &str,
    cpu: &str,
    memory: &str,
    labels: &[(&str, &str)],
    taints: &[(&str, &str, &str)],
) -> String {
    let mut l = format!(
        "    type: kwok\n    kubernetes.io/hostname: {name}\n    kubernetes.io/os: linux\n    kubernetes.io/arch: amd64\n"
    );
    for (k, v) in labels {
        l.push_str(&format!("    {k}: \"{v}\"\n"));
    }
    let t = if taints.is_empty() {
        String::new()
    } else {
        let mut t = String::from("spec:\n  taints:\n");
        for (k, v, effect) in taints {
            t.push_str(&format!(
                "  - {{key: {k}, value: \"{v}\", effect: {effect}}}\n"
            ));
        }
        t
    };
    format!(
        "apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
{l}{t}status:
  capacity: {{cpu: \"{cpu}\", memory: {memory}, pods: \"110\"}}
  allocatable: {{cpu: \"{cpu}\", memory: {memory}, pods: \"110\"}}
---
"
    )
}
