//! Test support: the fake API server, object builders, and running the real binary.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support"
)]

pub mod fake_api;
pub mod objects;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET; returns (status, headers, body). Bounded by a 5 s timeout.
pub fn http_get(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n{accept}\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, head.to_string(), body.to_string()))
}

/// `kube-verdict serve` as a child process; killed when dropped.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    _kubeconfig: Option<tempfile::NamedTempFile>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` against a kubeconfig (live) or with extra args (e.g. `--dump DIR`).
pub fn serve(kubeconfig: Option<&str>, extra: &[&str]) -> Served {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kube-verdict"));
    cmd.args(["serve", "--listen", &addr.to_string()]);
    if !extra.contains(&"--recheck-interval") {
        cmd.args(["--recheck-interval", "1s"]);
    }
    cmd.args(extra)
        .env("KUBE_VERDICT_LOG", "warn,kube_verdict=info")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let kc = kubeconfig.map(|k| {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(k.as_bytes()).unwrap();
        f
    });
    if let Some(f) = &kc {
        cmd.env("KUBECONFIG", f.path());
    }
    let child = cmd.spawn().expect("spawn kube-verdict serve");
    let served = Served {
        child,
        addr,
        _kubeconfig: kc,
    };
    wait_until("serve to listen", Duration::from_secs(20), || {
        http_get(addr, "/healthz", None).is_some_and(|r| r.0 == 200)
    });
    served
}

/// Polls `f` every 100 ms until it holds; panics after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// The verdict of `ns/name` from `GET /api/v1/verdicts/ns/name`, as `verdict/cause`.
pub fn verdict_of(addr: SocketAddr, ns: &str, name: &str) -> Option<String> {
    let (code, _, body) = http_get(addr, &format!("/api/v1/verdicts/{ns}/{name}"), None)?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(format!(
        "{}/{}",
        v["verdict"].as_str()?,
        v["cause"].as_str()?
    ))
}

/// Waits until `ns/name` has `expected` (`verdict/cause`), showing the last one seen on failure.
pub fn wait_verdict(addr: SocketAddr, ns: &str, name: &str, expected: &str, limit: Duration) {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < limit {
        last = verdict_of(addr, ns, name);
        if last.as_deref() == Some(expected) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{ns}/{name}: expected {expected} within {limit:?}, last seen {last:?}");
}

/// The value of one exposition line starting with `prefix` (metric name and labels).
pub fn metric(addr: SocketAddr, prefix: &str) -> Option<f64> {
    let (_, _, body) = http_get(addr, "/metrics", None)?;
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A plain HTTP/1.0 POST with extra headers; returns (status, body).
pub fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .ok()?;
    s.write_all(body).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((
        head.split_whitespace().nth(1)?.parse().ok()?,
        body.to_string(),
    ))
}
