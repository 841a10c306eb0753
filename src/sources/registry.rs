//! Registry lookups (DESIGN §7): asks an image's registry what a tag points to now, with the OCI
//! distribution API through `oci-client` (`HEAD /v2/<name>/manifests/<tag>`, the
//! `Docker-Content-Digest` header, the bearer-token challenge flow or HTTP basic auth), and
//! once per digest reads what it is (an image or an index, with its platforms) and its config's
//! `created` time. Sends `Change::RegistryPending` at once and `Change::RegistryAnswer` when
//! answered; a registry that cannot be asked sends a failed answer, which never makes a verdict
//! worse. Every request is counted in `kube_verdict_registry_requests_total{result}`.
//!
//! Credentials: a docker `config.json` (`--registry-config`): `auths.<host>.auth` (base64
//! `user:password`) or `auths.<host>.username`/`password`. Credential helpers (`credsStore`,
//! `credHelpers`) and `identitytoken` are not run: those registries are asked anonymously.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use futures::StreamExt;
use jiff::Timestamp;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::sync::{Mutex, Semaphore, mpsc};

use super::{RegistryRequestLabels, RegistryRequestResult, SourceEvent, SourceMetrics};
use crate::engine::image::{Digest, ImageRef};
use crate::engine::registry::{IndexEntry, ManifestKind, Platform, RegistryResult, TagAnswer};
use crate::engine::view::Change;

/// How long one registry request may take, connect included.
pub const REGISTRY_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of an image config read for its `created` time (configs are a few KiB).
pub const CONFIG_LIMIT_BYTES: usize = 1024 * 1024;

/// The media types a manifest GET accepts: OCI and Docker, images and indexes.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Why a docker `config.json` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: not a docker config.json: {error}")]
    Malformed {
        path: String,
        error: serde_json::Error,
    },
}

#[derive(serde::Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, DockerAuth>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Registry credentials by host (`registry.example.com`, `localhost:5000`, `docker.io`).
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    by_host: HashMap<String, (String, String)>,
}

/// The host a `config.json` key names: `https://index.docker.io/v1/` is `docker.io`,
/// `http://host:5000/v2` is `host:5000`.
fn config_host(key: &str) -> String {
    let k = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

impl Credentials {
    /// Reads a docker `config.json`. Entries without usable credentials are skipped with a
    /// warning each (returned), never an error.
    pub fn from_docker_config(path: &Path) -> Result<(Credentials, Vec<String>), CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|error| CredentialsError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Self::parse_docker_config(&text).map_err(|error| CredentialsError::Malformed {
            path: path.display().to_string(),
            error,
        })
    }

    /// Parses the text of a docker `config.json`.
    pub fn parse_docker_config(
        text: &str,
    ) -> Result<(Credentials, Vec<String>), serde_json::Error> {
        let cfg: DockerConfig = serde_json::from_str(text)?;
        let mut warnings = Vec::new();
        let mut by_host = HashMap::new();
        for (key, a) in cfg.auths {
            let pair = match (&a.auth, &a.username, &a.password) {
                (_, Some(u), Some(p)) if !u.is_empty() => Some((u.clone(), p.clone())),
                (Some(b64), _, _) if !b64.is_empty() => base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
                    .and_then(|raw| String::from_utf8(raw).ok())
                    .and_then(|s| {
                        s.split_once(':')
                            .map(|(u, p)| (u.to_string(), p.to_string()))
                    }),
                _ => None,
            };
            match pair {
                Some(p) => {
                    by_host.insert(config_host(&key), p);
                }
                None => warnings.push(format!(
                    "registry credentials for {key}: no usable auth (base64 user:password) or username/password; asked anonymously"
                )),
            }
        }
        if let Some(store) = cfg.creds_store {
            warnings.push(format!(
                "credsStore {store:?} is not run: registries without an auths entry are asked anonymously"
            ));
        }
        for (host, helper) in cfg.cred_helpers {
            warnings.push(format!(
                "credHelpers {host}: {helper:?} is not run; asked anonymously unless auths has it"
            ));
        }
        Ok((Credentials { by_host }, warnings))
    }

    /// The credentials for a registry host, or anonymous.
    pub fn for_host(&self, host: &str) -> RegistryAuth {
        match self.by_host.get(&config_host(host)) {
            Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
            None => RegistryAuth::Anonymous,
        }
    }

    /// Hosts with credentials.
    pub fn hosts(&self) -> usize {
        self.by_host.len()
    }
}

/// How the registry source is set up.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Hosts (`host[:port]`) asked over plain http (`--registry-insecure`).
    pub insecure: Vec<String>,
    pub credentials: Credentials,
    /// Lookups at once.
    pub concurrency: usize,
}

/// What a digest is, and its config's `created` time, read once per digest.
#[derive(Debug, Clone)]
struct Described {
    manifest: ManifestKind,
    created: Option<Timestamp>,
}

/// Asks registries what tags point to, a few at a time.
pub struct RegistryResolver {
    client: Arc<Client>,
    credentials: Arc<Credentials>,
    described: Arc<Mutex<HashMap<Digest, Described>>>,
    in_flight: Arc<AtomicUsize>,
    limit: Arc<Semaphore>,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
}

/// A registry request that failed, with its `result` label.
#[derive(Debug)]
struct Failure {
    result: RegistryResult,
    reason: String,
    /// The registry answered 200 with a body that is no manifest: its digest is not trusted.
    malformed: bool,
}

impl Failure {
    fn new(result: RegistryResult, reason: impl Into<String>) -> Failure {
        Failure {
            result,
            reason: reason.into(),
            malformed: false,
        }
    }
}

/// The `result` of an `oci-client` error: 401/403 unauthorized, 404 not found, 429 rate
/// limited (by status or by the OCI error code in the body), anything else an error.
fn classify(e: &OciDistributionError) -> RegistryResult {
    use OciDistributionError as E;
    let by_status = |code: u16| match code {
        401 | 403 => RegistryResult::Unauthorized,
        404 => RegistryResult::NotFound,
        429 => RegistryResult::RateLimited,
        _ => RegistryResult::Error,
    };
    match e {
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => RegistryResult::Unauthorized,
        E::ImageManifestNotFoundError(_) => RegistryResult::NotFound,
        E::ServerError { code, .. } => by_status(*code),
        E::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .map(|err| match err.code {
                OciErrorCode::ManifestUnknown
                | OciErrorCode::NameUnknown
                | OciErrorCode::NotFound => RegistryResult::NotFound,
                OciErrorCode::Unauthorized | OciErrorCode::Denied => RegistryResult::Unauthorized,
                OciErrorCode::Toomanyrequests => RegistryResult::RateLimited,
                _ => RegistryResult::Error,
            })
            .next()
            .unwrap_or(RegistryResult::Error),
        _ => RegistryResult::Error,
    }
}

fn label(r: RegistryResult) -> RegistryRequestResult {
    match r {
        RegistryResult::Ok => RegistryRequestResult::Ok,
        RegistryResult::Unauthorized => RegistryRequestResult::Unauthorized,
        RegistryResult::NotFound => RegistryRequestResult::NotFound,
        RegistryResult::RateLimited => RegistryRequestResult::RateLimited,
        RegistryResult::Error => RegistryRequestResult::Error,
    }
}

/// Reads a manifest or index body (OCI image-spec / Docker schema 2): an index's entries with
/// their platforms, or an image's config digest. `None` when it is neither.
pub fn parse_manifest(body: &[u8]) -> Option<(ManifestKind, Option<Digest>)> {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[serde(default, rename = "mediaType")]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<Vec<RawEntry>>,
        #[serde(default)]
        config: Option<RawDescriptor>,
    }
    #[derive(serde::Deserialize)]
    struct RawEntry {
        digest: String,
        #[serde(default)]
        platform: Option<RawPlatform>,
    }
    #[derive(serde::Deserialize)]
    struct RawPlatform {
        #[serde(default)]
        os: String,
        #[serde(default)]
        architecture: String,
        #[serde(default)]
        variant: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct RawDescriptor {
        digest: String,
    }
    let raw: Raw = serde_json::from_slice(body).ok()?;
    let is_index = raw.manifests.is_some()
        || raw
            .media_type
            .as_deref()
            .is_some_and(|m| m.contains("index") || m.contains("manifest.list"));
    if is_index {
        let entries = raw
            .manifests
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                Some(IndexEntry {
                    digest: Digest::parse(&e.digest)?,
                    platform: e.platform.map(|p| Platform {
                        os: p.os,
                        architecture: p.architecture,
                        variant: p.variant.unwrap_or_default(),
                    }),
                })
            })
            .collect();
        return Some((ManifestKind::Index(entries), None));
    }
    let config = raw.config.and_then(|c| Digest::parse(&c.digest));
    config.as_ref()?;
    Some((ManifestKind::Image, config))
}

/// Reads an image config's `created` time (RFC 3339), if any.
pub fn parse_created(body: &[u8]) -> Option<Timestamp> {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[serde(default)]
        created: Option<String>,
    }
    let raw: Raw = serde_json::from_slice(body).ok()?;
    raw.created?.parse().ok()
}

impl RegistryResolver {
    /// A resolver with its own HTTP client (rustls, the ring provider kube-verdict installs).
    pub fn new(
        options: RegistryOptions,
        metrics: SourceMetrics,
        tx: mpsc::Sender<SourceEvent>,
    ) -> RegistryResolver {
        // reqwest is built without a TLS provider of its own: rustls's ring, as kube uses. An
        // error only says one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if options.insecure.is_empty() {
            ClientProtocol::Https
        } else {
            ClientProtocol::HttpsExcept(options.insecure.clone())
        };
        let client = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(REGISTRY_REQUEST_TIMEOUT),
            read_timeout: Some(REGISTRY_REQUEST_TIMEOUT),
            user_agent: concat!("kube-verdict/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        });
        RegistryResolver {
            client: Arc::new(client),
            credentials: Arc::new(options.credentials),
            described: Default::default(),
            in_flight: Default::default(),
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
            metrics,
            tx,
        }
    }

    /// Lookups started and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Asks what `name` (`registry/path:tag`) points to, in the background; the answer comes
    /// back as a `Change::RegistryAnswer`. The caller applies `Change::RegistryPending` itself.
    pub fn resolve(&self, name: &str) {
        let Ok(image) = ImageRef::parse(name) else {
            return;
        };
        let Some(tag) = image.tag.clone() else {
            return;
        };
        let reference = Reference::with_tag(image.registry.clone(), image.path.clone(), tag);
        let auth = self.credentials.for_host(&image.registry);
        let (client, described, limit, metrics, tx, in_flight) = (
            self.client.clone(),
            self.described.clone(),
            self.limit.clone(),
            self.metrics.clone(),
            self.tx.clone(),
            self.in_flight.clone(),
        );
        let name = name.to_string();
        in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let _done = InFlight(in_flight);
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            let count = |r: RegistryResult| {
                metrics
                    .registry_requests
                    .get_or_create(&RegistryRequestLabels { result: label(r) })
                    .inc();
            };
            let resolved = match head(&client, &reference, &auth).await {
                Ok(digest) => {
                    count(RegistryResult::Ok);
                    let known = described.lock().await.get(&digest).cloned();
                    match known {
                        Some(d) => Ok((digest, Some(d))),
                        None => match describe(&client, &reference, &auth, &digest, &count).await {
                            Ok(d) => {
                                described.lock().await.insert(digest.clone(), d.clone());
                                Ok((digest, Some(d)))
                            }
                            // A 200 that is no manifest: the digest names garbage, not an image.
                            Err(f) if f.malformed => Err(f),
                            Err(f) => {
                                tracing::info!(image = %name, digest = %digest, error = %f.reason,
                                    "cannot read the image's manifest or config; its tag is judged without its created time");
                                Ok((digest, None))
                            }
                        },
                    }
                }
                Err(f) => {
                    count(f.result);
                    Err(f)
                }
            };
            let answer = match resolved {
                Ok((digest, d)) => TagAnswer::Resolved {
                    digest,
                    answered_at: Timestamp::now(),
                    created: d.as_ref().and_then(|d| d.created),
                    manifest: d.map(|d| d.manifest),
                },
                Err(f) => match f.result {
                    RegistryResult::NotFound => TagAnswer::NotFound {
                        answered_at: Timestamp::now(),
                    },
                    result => {
                        tracing::warn!(image = %name, result = result.as_str(), error = %f.reason,
                                "cannot ask the registry what the tag points to; the deployment stays judged without it");
                        TagAnswer::Failed {
                            result,
                            reason: f.reason,
                            answered_at: Timestamp::now(),
                        }
                    }
                },
            };
            let _ = tx
                .send(SourceEvent::Change(Change::RegistryAnswer { name, answer }))
                .await;
        });
    }
}

/// `HEAD` the tag: its digest, from `Docker-Content-Digest` (oci-client falls back to a GET
/// and hashes the body when the header is absent).
async fn head(
    client: &Client,
    reference: &Reference,
    auth: &RegistryAuth,
) -> Result<Digest, Failure> {
    let answer = tokio::time::timeout(
        REGISTRY_REQUEST_TIMEOUT * 2,
        client.fetch_manifest_digest(reference, auth),
    )
    .await;
    match answer {
        Err(_) => Err(Failure::new(
            RegistryResult::Error,
            format!(
                "no answer within {}s",
                (REGISTRY_REQUEST_TIMEOUT * 2).as_secs()
            ),
        )),
        Ok(Err(e)) => Err(Failure::new(classify(&e), e.to_string())),
        Ok(Ok(raw)) => Digest::parse(raw.trim()).ok_or_else(|| {
            Failure::new(
                RegistryResult::Error,
                format!(
                    "malformed Docker-Content-Digest {:?}",
                    raw.chars().take(100).collect::<String>()
                ),
            )
        }),
    }
}

/// What `digest` is (an image or an index) and its config's `created` time: one manifest GET,
/// one more for an index's first image, one config blob GET (at most [`CONFIG_LIMIT_BYTES`]).
async fn describe(
    client: &Client,
    reference: &Reference,
    auth: &RegistryAuth,
    digest: &Digest,
    count: &impl Fn(RegistryResult),
) -> Result<Described, Failure> {
    let get = |d: &Digest| {
        let r = reference.clone_with_digest(d.to_string());
        let d = d.clone();
        async move {
            let res = tokio::time::timeout(
                REGISTRY_REQUEST_TIMEOUT * 2,
                client.pull_manifest_raw(&r, auth, MANIFEST_TYPES),
            )
            .await;
            let out = match res {
                Err(_) => Err(Failure::new(
                    RegistryResult::Error,
                    "manifest: no answer in time",
                )),
                Ok(Err(e)) => Err(Failure::new(classify(&e), e.to_string())),
                Ok(Ok((body, _))) => parse_manifest(&body).ok_or_else(|| Failure {
                    malformed: true,
                    ..Failure::new(
                        RegistryResult::Error,
                        format!(
                            "the registry answered {} bytes for {d} that are neither an image manifest nor an index",
                            body.len()
                        ),
                    )
                }),
            };
            count(
                out.as_ref()
                    .map_or_else(|f| f.result, |_| RegistryResult::Ok),
            );
            out
        }
    };
    let (manifest, config) = get(digest).await?;
    let config = match (&manifest, config) {
        (_, Some(c)) => Some(c),
        (ManifestKind::Index(entries), None) => {
            // The created time of the index: its first real image's (linux/amd64 first).
            let pick = entries
                .iter()
                .filter(|e| e.platform.as_ref().is_some_and(|p| p.os != "unknown"))
                .min_by_key(|e| {
                    e.platform
                        .as_ref()
                        .is_none_or(|p| !(p.os == "linux" && p.architecture == "amd64"))
                });
            match pick {
                Some(e) => get(&e.digest).await.ok().and_then(|(_, c)| c),
                None => None,
            }
        }
        _ => None,
    };
    let created = match config {
        Some(c) => read_config_created(client, reference, auth, &c, count).await,
        None => None,
    };
    Ok(Described { manifest, created })
}

async fn read_config_created(
    client: &Client,
    reference: &Reference,
    auth: &RegistryAuth,
    config: &Digest,
    count: &impl Fn(RegistryResult),
) -> Option<Timestamp> {
    // oci-client sends credentials with blob requests only once they are stored for the host:
    // the manifest requests before this did so.
    client
        .store_auth_if_needed(reference.resolve_registry(), auth)
        .await;
    let desc = oci_client::manifest::OciDescriptor {
        digest: config.to_string(),
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        ..Default::default()
    };
    let read = async {
        let mut stream = client
            .pull_blob_stream(reference, &desc)
            .await
            .map_err(|e| classify(&e))?;
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| RegistryResult::Error)?;
            body.extend_from_slice(&chunk);
            if body.len() > CONFIG_LIMIT_BYTES {
                return Err(RegistryResult::Error);
            }
        }
        Ok(body)
    };
    let res = tokio::time::timeout(REGISTRY_REQUEST_TIMEOUT * 2, read).await;
    let body = match res {
        Ok(Ok(b)) => b,
        Ok(Err(r)) => {
            count(r);
            return None;
        }
        Err(_) => {
            count(RegistryResult::Error);
            return None;
        }
    };
    count(RegistryResult::Ok);
    parse_created(&body)
}

/// Decrements the in-flight count when a lookup task ends, however it ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_auths_in_every_form() {
        let text = r#"{
          "auths": {
            "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
            "localhost:5000": {"username": "ci", "password": "p:w"},
            "http://mirror.example.com/v2/": {"auth": "YWxpY2U6c2VjcmV0OmV4dHJh"},
            "ghcr.io": {},
            "broken.example.com": {"auth": "!!!"}
          },
          "credsStore": "desktop"
        }"#;
        let (c, warnings) = Credentials::parse_docker_config(text).unwrap();
        assert_eq!(c.hosts(), 3);
        assert_eq!(
            c.for_host("docker.io"),
            RegistryAuth::Basic("user".into(), "pass".into())
        );
        assert_eq!(
            c.for_host("localhost:5000"),
            RegistryAuth::Basic("ci".into(), "p:w".into())
        );
        // The password may hold ':' (split at the first).
        assert_eq!(
            c.for_host("mirror.example.com"),
            RegistryAuth::Basic("alice".into(), "secret:extra".into())
        );
        assert_eq!(c.for_host("ghcr.io"), RegistryAuth::Anonymous);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(Credentials::parse_docker_config("not json").is_err());
    }

    #[test]
    fn manifests_indexes_and_configs_from_real_shapes() {
        // The OCI index buildah `manifest push --all` writes (docs/fixtures: buildah 1.28).
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"architecture":"amd64","os":"linux"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#;
        let (kind, config) = parse_manifest(index).unwrap();
        assert!(config.is_none());
        assert_eq!(
            kind.for_platform("linux", "arm64").unwrap().as_str(),
            "sha256:2222222222222222222222222222222222222222222222222222222222222222"
        );
        // A Docker schema 2 manifest list has no top-level mediaType in some registries.
        let list = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(parse_manifest(list).unwrap().0, ManifestKind::Index(vec![]));
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":2},"layers":[]}"#;
        let (kind, config) = parse_manifest(image).unwrap();
        assert_eq!(kind, ManifestKind::Image);
        assert!(config.unwrap().as_str().ends_with("3333"));
        assert!(parse_manifest(b"{\"config\":{\"digest\":\"md5:x\"}}").is_none());
        assert!(parse_manifest(b"\xff\xfe").is_none());
        assert_eq!(
            parse_created(
                br#"{"created":"2026-11-30T10:00:00.123456789Z","architecture":"amd64"}"#
            ),
            Some("2026-11-30T10:00:00.123456789Z".parse().unwrap())
        );
        assert_eq!(parse_created(br#"{"created":"yesterday"}"#), None);
        assert_eq!(parse_created(br#"{"architecture":"amd64"}"#), None);
    }

    #[test]
    fn errors_are_classified_by_status_and_oci_code() {
        let env = |code: &str| {
            let envelope: oci_client::errors::OciEnvelope = serde_json::from_str(&format!(
                r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#
            ))
            .unwrap();
            OciDistributionError::RegistryError {
                envelope,
                url: "u".into(),
            }
        };
        assert_eq!(classify(&env("MANIFEST_UNKNOWN")), RegistryResult::NotFound);
        assert_eq!(classify(&env("NAME_UNKNOWN")), RegistryResult::NotFound);
        assert_eq!(classify(&env("DENIED")), RegistryResult::Unauthorized);
        assert_eq!(
            classify(&env("TOOMANYREQUESTS")),
            RegistryResult::RateLimited
        );
        let server = |code: u16| OciDistributionError::ServerError {
            code,
            url: "u".into(),
            message: String::new(),
        };
        assert_eq!(classify(&server(429)), RegistryResult::RateLimited);
        assert_eq!(classify(&server(403)), RegistryResult::Unauthorized);
        assert_eq!(classify(&server(502)), RegistryResult::Error);
        assert_eq!(
            classify(&OciDistributionError::UnauthorizedError { url: "u".into() }),
            RegistryResult::Unauthorized
        );
    }
}
