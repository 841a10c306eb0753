//! A real OCI registry (Debian's `docker-registry`, distribution 2.8) on 127.0.0.1 with a port
//! chosen here, with or without htpasswd auth, and real images built and pushed into it by
//! Debian's `buildah` (`--storage-driver vfs --isolation chroot`, `FROM scratch`). Everything
//! lives under one temporary folder and stops when dropped, also on failure.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{KillOnDrop, free_port, wait_until};

/// A running registry.
pub struct Registry {
    _child: KillOnDrop,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`: the registry part of image names.
    pub host: String,
    /// `user:password` when started with auth.
    pub creds: Option<String>,
}

/// True when the tools are here: `docker-registry`, `buildah` (and `htpasswd` for auth).
pub fn available() -> bool {
    ["docker-registry", "buildah", "htpasswd"]
        .iter()
        .all(|t| super::require_tool(t))
}

impl Registry {
    /// Starts a registry without auth.
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// Starts a registry that asks for HTTP basic auth (`htpasswd -B`) from `user:password`.
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut auth_section = String::new();
        if let Some((user, password)) = auth {
            let htpasswd = dir.path().join("htpasswd");
            let ok = Command::new("htpasswd")
                .args(["-Bbc"])
                .arg(&htpasswd)
                .args([user, password])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success();
            assert!(ok, "htpasswd failed");
            auth_section = format!(
                "auth:\n  htpasswd:\n    realm: kube-verdict-test\n    path: {}\n",
                htpasswd.display()
            );
        }
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth_section}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry");
        let child = KillOnDrop(child);
        let addr = host.parse().unwrap();
        wait_until("the registry answers /v2/", Duration::from_secs(20), || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        Registry {
            _child: child,
            dir,
            host,
            creds: auth.map(|(u, p)| format!("{u}:{p}")),
        }
    }

    fn buildah(&self) -> Command {
        let mut c = Command::new("buildah");
        c.arg("--root")
            .arg(self.dir.path().join("storage"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "vfs"]);
        c
    }

    fn run(&self, mut c: Command, what: &str) -> String {
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // buildah writes its progress (the push log) to stderr, results to stdout.
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Builds a `FROM scratch` image holding `content` for `arch` (local name `local`).
    fn build(&self, local: &str, content: &str, arch: &str) {
        let ctx = self
            .dir
            .path()
            .join(format!("ctx-{}", local.replace('/', "_")));
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(ctx.join("content"), content).unwrap();
        std::fs::write(
            ctx.join("Containerfile"),
            "FROM scratch\nCOPY content /content\n",
        )
        .unwrap();
        let mut c = self.buildah();
        c.args(["bud", "--isolation", "chroot", "--arch", arch, "-t", local])
            .arg(&ctx);
        self.run(c, "buildah bud");
    }

    fn digest_file(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}.digest", name.replace(['/', ':'], "_")))
    }

    fn push_args(&self, c: &mut Command) {
        c.arg("--tls-verify=false");
        if let Some(creds) = &self.creds {
            c.args(["--creds", creds]);
        }
    }

    /// Builds and pushes `repo:tag` (`shop/web:1.0`) holding `content`; returns the digest
    /// buildah wrote with `--digestfile` and the output of `buildah push` (a real push log).
    pub fn push(&self, repo_tag: &str, content: &str) -> (String, String) {
        let name = format!("{}/{repo_tag}", self.host);
        self.build(&name, content, "amd64");
        let file = self.digest_file(repo_tag);
        let mut c = self.buildah();
        c.arg("push");
        self.push_args(&mut c);
        c.arg("--digestfile")
            .arg(&file)
            .arg(&name)
            .arg(format!("docker://{name}"));
        let log = self.run(c, "buildah push");
        (
            std::fs::read_to_string(&file).unwrap().trim().to_string(),
            log,
        )
    }

    /// Builds one image per architecture and pushes them as a multi-arch index to `repo:tag`
    /// (`buildah manifest create/add/push --all`); returns the index digest.
    pub fn push_index(&self, repo_tag: &str, content: &str, arches: &[&str]) -> String {
        let list = format!("list-{}", repo_tag.replace(['/', ':'], "-"));
        let mut c = self.buildah();
        c.args(["manifest", "create", &list]);
        self.run(c, "buildah manifest create");
        for arch in arches {
            let local = format!("localhost/{list}-{arch}");
            self.build(&local, &format!("{content} {arch}"), arch);
            let mut c = self.buildah();
            c.args(["manifest", "add", &list, &local]);
            self.run(c, "buildah manifest add");
        }
        let name = format!("{}/{repo_tag}", self.host);
        let file = self.digest_file(&format!("{repo_tag}-index"));
        let mut c = self.buildah();
        c.args(["manifest", "push", "--all"]);
        self.push_args(&mut c);
        c.arg("--digestfile")
            .arg(&file)
            .arg(&list)
            .arg(format!("docker://{name}"));
        self.run(c, "buildah manifest push");
        std::fs::read_to_string(&file).unwrap().trim().to_string()
    }

    /// The index's manifests by architecture, as the registry serves them.
    pub fn index_manifests(&self, repo_tag: &str) -> Vec<(String, String)> {
        let (repo, tag) = repo_tag.rsplit_once(':').unwrap();
        let mut c = Command::new("curl");
        c.args([
            "-sf",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
        ]);
        if let Some(creds) = &self.creds {
            c.args(["-u", creds]);
        }
        c.arg(format!("http://{}/v2/{repo}/manifests/{tag}", self.host));
        let out = c.output().unwrap();
        assert!(out.status.success(), "curl index");
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        body["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["platform"]["architecture"].as_str().unwrap().to_string(),
                    m["digest"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// A docker `config.json` with this registry's credentials, in the registry's folder.
    pub fn docker_config(&self) -> PathBuf {
        use base64::Engine;
        let creds = self.creds.as_deref().unwrap_or("x:y");
        let path = self.dir.path().join("config.json");
        std::fs::write(
            &path,
            serde_json::json!({"auths": {self.host.clone(): {
                "auth": base64::engine::general_purpose::STANDARD.encode(creds)}}})
            .to_string(),
        )
        .unwrap();
        path
    }

    /// The registry's folder (logs, digest files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// How a [`HostileRegistry`] misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostility {
    /// `Docker-Content-Digest: sha256:not-hex` on every manifest answer.
    MalformedDigest,
    /// `302` to the same URL, for ever.
    RedirectLoop,
    /// Reads the request and never answers.
    Silent,
    /// This status, with an OCI error body (`TOOMANYREQUESTS` for 429), on every manifest
    /// request.
    Status(u16),
    /// No `Docker-Content-Digest`; a GET answers this many bytes that are no manifest.
    HugeBody(usize),
}

/// A registry that answers `/v2/` and then misbehaves as told, on 127.0.0.1 with a port chosen
/// here; stops when dropped.
pub struct HostileRegistry {
    pub host: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl HostileRegistry {
    pub fn start(mode: Hostility) -> HostileRegistry {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let (stop3, requests3) = (stop2.clone(), requests2.clone());
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                    loop {
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            match conn.read(&mut byte) {
                                Ok(1) => head.push(byte[0]),
                                _ => return,
                            }
                        }
                        requests3.fetch_add(1, Ordering::SeqCst);
                        let text = String::from_utf8_lossy(&head).into_owned();
                        let mut first = text.lines().next().unwrap_or("").split(' ');
                        let (method, path) =
                            (first.next().unwrap_or(""), first.next().unwrap_or(""));
                        let head_only = method == "HEAD";
                        let reply = |conn: &mut std::net::TcpStream,
                                     status: &str,
                                     headers: &str,
                                     body: &[u8]| {
                            let _ = write!(
                                conn,
                                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}\r\n",
                                body.len()
                            );
                            if !head_only {
                                let _ = conn.write_all(body);
                            }
                        };
                        if path == "/v2/" {
                            reply(
                                &mut conn,
                                "200 OK",
                                "Content-Type: application/json\r\n",
                                b"{}",
                            );
                            continue;
                        }
                        match mode {
                            Hostility::MalformedDigest => reply(
                                &mut conn,
                                "200 OK",
                                "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: sha256:not-hex\r\n",
                                b"{}",
                            ),
                            Hostility::RedirectLoop => reply(
                                &mut conn,
                                "302 Found",
                                &format!("Location: {path}\r\n"),
                                b"",
                            ),
                            Hostility::Silent => {
                                while !stop3.load(Ordering::SeqCst) {
                                    std::thread::sleep(Duration::from_millis(100));
                                }
                                return;
                            }
                            // Docker Hub's 429 body; any other status an unknown code.
                            Hostility::Status(code) => reply(
                                &mut conn,
                                &format!("{code} Hostile"),
                                "Content-Type: application/json\r\n",
                                if code == 429 {
                                    br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#
                                } else {
                                    br#"{"errors":[{"code":"UNKNOWN","message":"hostile!"}]}"#
                                },
                            ),
                            Hostility::HugeBody(n) => {
                                let _ = write!(
                                    conn,
                                    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {n}\r\n\r\n"
                                );
                                if !head_only {
                                    let chunk = vec![b'a'; 64 * 1024];
                                    let mut left = n;
                                    while left > 0 {
                                        let k = left.min(chunk.len());
                                        if conn.write_all(&chunk[..k]).is_err() {
                                            return;
                                        }
                                        left -= k;
                                    }
                                }
                            }
                        }
                    }
                });
            }
        });
        HostileRegistry {
            host,
            stop,
            requests,
        }
    }

    /// Requests answered so far (`/v2/` included).
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for HostileRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Unblocks the accept loop.
        let _ = std::net::TcpStream::connect(&self.host);
    }
}
