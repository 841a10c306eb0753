//! `serve` against hostile clients (issue 9, items 5–7): slow headers and bodies are cut off,
//! open connections are capped, SIGTERM ends the process while a client holds a connection, a
//! report storm leaves the ledger bounded and `/healthz` answering, and platform names an
//! outsider sends cannot grow `/metrics`.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::{http_get, http_post, metric, serve};

fn dump() -> String {
    support::root()
        .join("examples/false-alarm")
        .to_string_lossy()
        .into_owned()
}

fn token_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"s3cret\n").unwrap();
    f
}

/// True when the server closed `s` (EOF or reset) within `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or similar before closing is fine; keep reading to the close.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_headers_and_bodies_are_cut_off() {
    let tok = token_file();
    let s = serve(
        None,
        &[
            "--dump",
            &dump(),
            "--http-read-timeout",
            "1s",
            "--token-file",
            tok.path().to_str().unwrap(),
        ],
    );
    // A header byte now and then, never finishing.
    let mut slow = TcpStream::connect(s.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut slow, Duration::from_secs(5)),
        "a client that never finishes its headers is disconnected"
    );
    eprintln!("slow header client closed after {:?}", started.elapsed());

    // An idle keep-alive connection is closed too.
    let mut idle = TcpStream::connect(s.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)));

    // A body announced but not sent: 408.
    let mut body = TcpStream::connect(s.addr).unwrap();
    body.write_all(
        b"POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    body.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = body.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--http-read-timeout"), "{answer}");
    assert_eq!(http_get(s.addr, "/healthz", None).unwrap().0, 200);
}

/// At `--max-connections`, a new connection takes the place of the oldest one without a request
/// in flight (half-sent headers, or idle keep-alive): clients holding half-sent requests cannot
/// keep Prometheus out. Only when every connection is serving a request is the new one closed at
/// once. Both counted.
#[test]
fn open_connections_are_capped_and_counted() {
    let tf = token_file();
    let s = serve(
        None,
        &[
            "--dump",
            &dump(),
            "--max-connections",
            "4",
            "--http-read-timeout",
            "60s",
            "--token-file",
            tf.path().to_str().unwrap(),
        ],
    );
    // A scrape may itself meet a full server while the test's connections close: -1 then.
    let counter = |name: &str| {
        let Some((_, _, body)) = http_get(s.addr, "/metrics", None) else {
            return -1.0;
        };
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(-1.0)
    };
    // Four clients that never finish their headers: a scrape still gets through, in time.
    let half: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Slow: ")
                .unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (code, _, body) = http_get(s.addr, "/metrics", None).expect("a scrape at the cap");
    assert_eq!(code, 200);
    assert!(body.contains("kube_verdict_http_connections_evicted_total"));
    eprintln!(
        "a scrape at the cap held by half-sent requests took {:?}",
        started.elapsed()
    );
    support::wait_until("the eviction counted", Duration::from_secs(10), || {
        counter("kube_verdict_http_connections_evicted_total") >= 1.0
    });
    drop(half);

    // Four requests in flight (bodies arriving slowly): nothing to evict, the fifth is closed.
    std::thread::sleep(Duration::from_millis(300));
    let busy: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\nContent-Length: 100\r\n\r\n{")
                .unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(s.addr).unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(3)),
        "the fifth connection is closed when all four serve a request"
    );
    drop(busy);
    support::wait_until("the rejection counted", Duration::from_secs(10), || {
        counter("kube_verdict_http_connections_rejected_total") >= 1.0
    });
}

#[test]
fn sigterm_ends_serve_while_a_client_holds_a_connection() {
    let mut s = serve(None, &["--dump", &dump(), "--http-read-timeout", "60s"]);
    let mut half = TcpStream::connect(s.addr).unwrap();
    half.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nContent-")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let pid = s.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut ended = None;
    while started.elapsed() < Duration::from_secs(20) {
        if let Some(status) = s.child.try_wait().unwrap() {
            ended = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = ended.expect("serve ended within 20 s of SIGTERM (its grace is 5 s)");
    assert!(status.success(), "{status:?}");
    eprintln!("serve ended {:?} after SIGTERM", started.elapsed());
}

fn alert(i: usize, platform: &str) -> serde_json::Value {
    serde_json::json!({
        "status": "firing",
        "labels": {"alertname": "PlatformDeploymentFailed", "namespace": format!("ns{i}"),
                   "deployment": "app", "platform": platform},
        "startsAt": "2026-11-20T10:00:00Z"
    })
}

fn webhook(addr: SocketAddr, alerts: Vec<serde_json::Value>) -> (u16, String) {
    let body = serde_json::json!({"version": "4", "alerts": alerts}).to_string();
    http_post(
        addr,
        "/api/v1/alertmanager/webhook",
        &[("Authorization", "Bearer s3cret")],
        body.as_bytes(),
    )
    .expect("webhook answered")
}

#[test]
fn a_report_storm_stays_bounded_and_healthz_keeps_answering() {
    let tok = token_file();
    let s = serve(
        None,
        &[
            "--dump",
            &dump(),
            "--token-file",
            tok.path().to_str().unwrap(),
            "--max-body-bytes",
            "8000000",
        ],
    );
    let addr = s.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut worst = Duration::ZERO;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let ok = http_get(addr, "/healthz", None).is_some_and(|r| r.0 == 200);
                assert!(ok, "/healthz answered during the storm");
                worst = worst.max(t.elapsed());
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            (n, worst)
        })
    };
    let started = Instant::now();
    let senders: Vec<_> = (0..3)
        .map(|b| {
            std::thread::spawn(move || {
                for round in 0..3 {
                    let alerts = (0..2000)
                        .map(|i| alert(b * 100_000 + round * 10_000 + i, "ci"))
                        .collect();
                    let (code, body) = webhook(addr, alerts);
                    assert_eq!(code, 200, "{body}");
                }
            })
        })
        .collect();
    for h in senders {
        h.join().unwrap();
    }
    let storm = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (probes, worst) = prober.join().unwrap();
    eprintln!(
        "18,000 reports in 9 webhook calls of 2,000 from 3 senders: {storm:?}; {probes} /healthz probes, slowest {worst:?}"
    );
    assert_eq!(
        metric(addr, "platform_failure_reports_total{platform=\"ci\"}"),
        Some(18_000.0)
    );
    assert_eq!(metric(addr, "kube_verdict_reports_held"), Some(10_000.0));
    assert_eq!(
        metric(addr, "kube_verdict_reports_evicted_total"),
        Some(8_000.0)
    );
}

#[test]
fn platform_names_from_outsiders_cannot_grow_metrics() {
    let tok = token_file();
    let s = serve(
        None,
        &[
            "--dump",
            &dump(),
            "--token-file",
            tok.path().to_str().unwrap(),
            "--max-body-bytes",
            "30000000",
        ],
    );
    let junk: Vec<_> = (0..20)
        .map(|i| alert(i, &format!("{i}{}", "x".repeat(900_000))))
        .collect();
    let (code, answer) = webhook(s.addr, junk);
    assert_eq!(code, 200);
    assert_eq!(
        answer.matches("platform is longer than 253 bytes").count(),
        20,
        "junk names are refused, not counted"
    );
    let many: Vec<_> = (0..30).map(|i| alert(100 + i, &format!("p{i}"))).collect();
    assert_eq!(webhook(s.addr, many).0, 200);
    let (_, _, body) = http_get(s.addr, "/metrics", None).unwrap();
    assert!(body.len() < 200_000, "/metrics is {} bytes", body.len());
    let platforms: std::collections::BTreeSet<&str> = body
        .lines()
        .filter(|l| l.starts_with("platform_failure_reports_total{"))
        .collect();
    assert_eq!(platforms.len(), 11, "10 names and other: {platforms:?}");
    assert!(
        body.contains("platform_failure_reports_total{platform=\"other\"} 20"),
        "{platforms:?}"
    );
}

/// A fake Alertmanager on 127.0.0.1 answering every request with `answer` (the body written by
/// the closure, which may never finish). Returns its URL.
fn fake_alertmanager(answer: fn(&mut TcpStream)) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                answer(&mut conn);
            });
        }
    });
    url
}

/// The poll has a size cap and a time limit: a huge answer and one that drips forever are
/// counted as poll errors, and serve stays healthy.
#[test]
fn a_hostile_alertmanager_cannot_hold_the_poller_or_fill_memory() {
    let huge = fake_alertmanager(|c| {
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[");
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..64 {
            if c.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let drip = fake_alertmanager(|c| {
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n[");
        for _ in 0..60 {
            std::thread::sleep(Duration::from_secs(1));
            if c.write_all(b" ").is_err() {
                return;
            }
        }
    });
    for (url, what) in [(huge, "64 MiB answer"), (drip, "a byte a second")] {
        let s = serve(
            None,
            &[
                "--dump",
                &dump(),
                "--alertmanager-url",
                &url,
                "--alertmanager-poll-interval",
                "1s",
            ],
        );
        let started = Instant::now();
        support::wait_until(what, Duration::from_secs(30), || {
            metric(
                s.addr,
                "kube_verdict_source_errors_total{resource=\"alertmanager\",error=\"poll\"}",
            )
            .is_some_and(|v| v >= 1.0)
        });
        eprintln!("{what}: poll error counted after {:?}", started.elapsed());
        assert_eq!(http_get(s.addr, "/healthz", None).unwrap().0, 200);
        let pid = s.child.id();
        let rss = support::rss_kib(pid, "VmHWM:");
        assert!(rss < 200 * 1024, "{what}: peak RSS {rss} KiB");
    }
}

/// GET with an optional bearer token; returns the status code.
fn get_code(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    get_with_token(addr, path, token).0
}

/// GET with an optional bearer token; returns the status code and the body.
fn get_with_token(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: t\r\n{auth}\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn post_report(addr: SocketAddr, token: &str, id: &str) -> u16 {
    let body = format!(
        r#"{{"platform": "ci", "namespace": "shop", "deployment": "checkout", "id": "{id}"}}"#
    );
    http_post(
        addr,
        "/api/v1/reports",
        &[("Authorization", &format!("Bearer {token}"))],
        body.as_bytes(),
    )
    .map_or(0, |r| r.0)
}

/// `--read-token-file` guards the read API (not /metrics or the probes), and both token files
/// are read again when they change: a rotated Secret takes effect without a restart.
#[test]
fn read_token_and_token_rotation() {
    let write = token_file();
    let mut read = tempfile::NamedTempFile::new().unwrap();
    read.write_all(b"reader\n").unwrap();
    let s = serve(
        None,
        &[
            "--dump",
            &dump(),
            "--token-file",
            write.path().to_str().unwrap(),
            "--read-token-file",
            read.path().to_str().unwrap(),
        ],
    );
    for path in [
        "/api/v1/verdicts",
        "/api/v1/verdicts/shop/checkout",
        "/api/v1/reports",
    ] {
        assert_eq!(get_code(s.addr, path, None), 401, "{path}");
        assert_eq!(get_code(s.addr, path, Some("wrong")), 401, "{path}");
        assert_eq!(get_code(s.addr, path, Some("reader")), 200, "{path}");
    }
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(get_code(s.addr, path, None), 200, "{path}");
    }

    assert_eq!(post_report(s.addr, "s3cret", "r1"), 202);
    // The scheme is case-insensitive; a body announced over the limit is refused at once.
    let lower = http_post(
        s.addr,
        "/api/v1/reports",
        &[("Authorization", "bearer s3cret")],
        br#"{"platform": "ci", "namespace": "shop", "deployment": "checkout", "id": "r0"}"#,
    );
    assert_eq!(lower.map(|r| r.0), Some(202));
    let mut big = TcpStream::connect(s.addr).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    big.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\nContent-Length: 10000000000\r\n\r\n{").unwrap();
    let mut answer = String::new();
    let _ = big.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Rotate: a new token of another length (the stamp changes with the size at once).
    std::fs::write(write.path(), "rotated-token\n").unwrap();
    assert_eq!(
        post_report(s.addr, "s3cret", "r2"),
        401,
        "the old token is refused"
    );
    assert_eq!(post_report(s.addr, "rotated-token", "r3"), 202);
    // A rotation as a Secret volume makes it: a new file of the same size swapped in by rename
    // (same length, possibly the same modification time): the inode tells.
    let dir = write.path().parent().unwrap();
    let staged = dir.join(format!(".staged-{}", std::process::id()));
    std::fs::write(&staged, "rotated-tokeX\n").unwrap();
    let stamp = std::fs::metadata(write.path()).unwrap().modified().unwrap();
    let f = std::fs::File::options().write(true).open(&staged).unwrap();
    f.set_modified(stamp).unwrap();
    std::fs::rename(&staged, write.path()).unwrap();
    assert_eq!(post_report(s.addr, "rotated-token", "r5"), 401);
    assert_eq!(post_report(s.addr, "rotated-tokeX", "r6"), 202);
    // A rotation that empties the file keeps the last good token.
    std::fs::write(write.path(), "").unwrap();
    assert_eq!(post_report(s.addr, "rotated-tokeX", "r4"), 202);
    // A query string the API cannot read is a 400 with a JSON error, as every API error.
    let (code, body) = get_with_token(s.addr, "/api/v1/reports?limit=abc", Some("reader"));
    assert_eq!(code, 400, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
    assert!(e["error"].as_str().unwrap().contains("limit"), "{body}");
}
