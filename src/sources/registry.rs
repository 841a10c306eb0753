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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use jiff::Timestamp;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use tokio::sync::{Mutex, Semaphore, mpsc};

use super::{RegistryRequestLabels, RegistryRequestResult, SourceEvent, SourceMetrics};
use crate::config::{Credentials, RegistryOptions};
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

/// How long a pull secret read is reused before it is read again.
const SECRET_REUSE: Duration = Duration::from_secs(300);

/// Pull secrets read through the API server, by (namespace, name): the credentials they hold
/// (None: missing, unreadable or not a docker config) and when they were read.
type SecretCache = HashMap<(String, String), (Option<Credentials>, std::time::Instant)>;

/// Reads `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`, a docker `config.json`) and
/// legacy `kubernetes.io/dockercfg` (`.dockercfg`, the `auths` map alone) secrets.
pub fn secret_credentials(
    data: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Option<Credentials> {
    if let Some(raw) = data.get(".dockerconfigjson") {
        return Credentials::parse_docker_config(std::str::from_utf8(raw).ok()?)
            .ok()
            .map(|(c, _)| c);
    }
    let raw = data.get(".dockercfg")?;
    let auths: serde_json::Value = serde_json::from_slice(raw).ok()?;
    Credentials::parse_docker_config(&serde_json::json!({ "auths": auths }).to_string())
        .ok()
        .map(|(c, _)| c)
}

/// What a digest is, and its config's `created` time, read once per digest.
#[derive(Debug, Clone)]
struct Described {
    manifest: ManifestKind,
    created: Option<Timestamp>,
}

/// Asks registries what tags point to, a few at a time.
pub struct RegistryResolver {
    net: Arc<Net>,
    /// The API client that reads pull secrets, with `--registry-auth=pull-secrets`.
    secrets_client: Option<kube::Client>,
    secrets: Arc<Mutex<SecretCache>>,
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

/// Counts one registry request in `kube_verdict_registry_requests_total{result}`.
fn count_request(metrics: &SourceMetrics, r: RegistryResult) {
    metrics
        .registry_requests
        .get_or_create(&RegistryRequestLabels { result: label(r) })
        .inc();
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
        kube: Option<kube::Client>,
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
        let oci = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(REGISTRY_REQUEST_TIMEOUT),
            read_timeout: Some(REGISTRY_REQUEST_TIMEOUT),
            user_agent: USER_AGENT,
            ..ClientConfig::default()
        });
        let http = reqwest::Client::builder()
            .connect_timeout(REGISTRY_REQUEST_TIMEOUT)
            .read_timeout(REGISTRY_REQUEST_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .unwrap_or_default();
        RegistryResolver {
            secrets_client: kube.filter(|_| options.pull_secrets),
            secrets: Default::default(),
            net: Arc::new(Net {
                oci,
                http,
                insecure: options.insecure.clone(),
                auth_cache: Default::default(),
            }),
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

    /// Reads what `digest` is in `repository` (`registry/path`), in the background: an image
    /// or an index and what it lists, sent as `Change::RegistryManifest` (or
    /// `RegistryManifestUnavailable`). The caller applies `RegistryManifestPending` itself.
    pub fn describe_digest(&self, repository: &str, digest: &Digest) {
        let Ok(image) = ImageRef::parse(&format!("{repository}@{digest}")) else {
            return;
        };
        let reference = Reference::with_digest(
            image.registry.clone(),
            image.path.clone(),
            digest.to_string(),
        );
        let auth = self
            .credentials
            .get(&image.registry)
            .unwrap_or(RegistryAuth::Anonymous);
        let (net, limit, metrics, tx, in_flight) = (
            self.net.clone(),
            self.limit.clone(),
            self.metrics.clone(),
            self.tx.clone(),
            self.in_flight.clone(),
        );
        let digest = digest.clone();
        in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let _done = InFlight(in_flight);
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            let count = |r: RegistryResult| count_request(&metrics, r);
            let change = match net.manifest(&reference, &auth, &digest, &count).await {
                Ok((manifest, _)) => Change::RegistryManifest { digest, manifest },
                Err(f) => {
                    tracing::info!(digest = %digest, error = %f.reason,
                        "cannot read the manifest; multi-arch matching of this digest waits");
                    Change::RegistryManifestUnavailable {
                        digest,
                        at: Timestamp::now(),
                    }
                }
            };
            let _ = tx.send(SourceEvent::Change(change)).await;
        });
    }

    /// True when lookups use the pods' pull secrets (`--registry-auth=pull-secrets`).
    pub fn uses_pull_secrets(&self) -> bool {
        self.secrets_client.is_some()
    }

    /// Asks what `name` (`registry/path:tag`) points to, in the background; the answer comes
    /// back as a `Change::RegistryAnswer`. The caller applies `Change::RegistryPending` itself.
    /// `pull_secrets` (namespace, name) are tried first for the registry's credentials, with
    /// `--registry-auth=pull-secrets`; then `--registry-config`'s; else anonymous.
    pub fn resolve(&self, name: &str, pull_secrets: Vec<(String, String)>) {
        let Ok(image) = ImageRef::parse(name) else {
            return;
        };
        let Some(tag) = image.tag.clone() else {
            return;
        };
        let reference = Reference::with_tag(image.registry.clone(), image.path.clone(), tag);
        let configured = self.credentials.get(&image.registry);
        let (secrets_client, secrets) = (self.secrets_client.clone(), self.secrets.clone());
        let host = image.registry.clone();
        let (net, described, limit, metrics, tx, in_flight) = (
            self.net.clone(),
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
            // Every candidate in turn, as the kubelet tries pull secrets: the pods' secrets,
            // then --registry-config's, else anonymous; the next one after a 401/403.
            let mut candidates = match &secrets_client {
                Some(c) => pull_secret_auths(c, &secrets, &pull_secrets, &host).await,
                None => Vec::new(),
            };
            candidates.extend(configured);
            if candidates.is_empty() {
                candidates.push(RegistryAuth::Anonymous);
            }
            let count = |r: RegistryResult| count_request(&metrics, r);
            let (head, auth) = net.head_with_any(&reference, candidates, &count).await;
            let resolved = match head {
                Ok(digest) => {
                    count(RegistryResult::Ok);
                    let known = described.lock().await.get(&digest).cloned();
                    match known {
                        Some(d) => Ok((digest, Some(d))),
                        None => match net.describe(&reference, &auth, &digest, &count).await {
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
                    if f.result != RegistryResult::Unauthorized {
                        count(f.result);
                    }
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

/// The credentials for `host` in `refs` (namespace, secret), in order and without repeats,
/// each secret read at most once per [`SECRET_REUSE`]. A secret that cannot be read (403: no
/// `get secrets`; 404) is skipped with a warning.
async fn pull_secret_auths(
    client: &kube::Client,
    cache: &Mutex<SecretCache>,
    refs: &[(String, String)],
    host: &str,
) -> Vec<RegistryAuth> {
    let mut out: Vec<RegistryAuth> = Vec::new();
    for (ns, name) in refs {
        let key = (ns.clone(), name.clone());
        let cached = cache
            .lock()
            .await
            .get(&key)
            .filter(|(_, at)| at.elapsed() < SECRET_REUSE)
            .map(|(c, _)| c.clone());
        let creds = match cached {
            Some(c) => c,
            None => {
                let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
                    kube::Api::namespaced(client.clone(), ns);
                let read = tokio::time::timeout(REGISTRY_REQUEST_TIMEOUT, api.get(name)).await;
                let creds = match read {
                    Ok(Ok(secret)) => {
                        let data: std::collections::BTreeMap<String, Vec<u8>> = secret
                            .data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, v.0))
                            .collect();
                        secret_credentials(&data)
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(namespace = %ns, secret = %name, error = %e,
                            "cannot read the pull secret (deploy/registry-pull-secrets grants get secrets)");
                        None
                    }
                    Err(_) => None,
                };
                cache
                    .lock()
                    .await
                    .insert(key, (creds.clone(), std::time::Instant::now()));
                creds
            }
        };
        if let Some(auth) = creds.and_then(|c| c.get(host))
            && !out.contains(&auth)
        {
            out.push(auth);
        }
    }
    out
}

/// The `User-Agent` of registry requests.
const USER_AGENT: &str = concat!("kube-verdict/", env!("CARGO_PKG_VERSION"));

/// How long an `Authorization` (a bearer token, or none needed) is reused for one repository
/// before the registry is asked again (tokens of public registries live 5 minutes and more).
const AUTH_REUSE: Duration = Duration::from_secs(60);

/// The registry client: `oci-client` for the token flow (the `/v2/` challenge, the bearer token
/// of the realm, or HTTP basic auth), `reqwest` for the requests themselves, so that every body
/// is read within a size cap ([`MANIFEST_LIMIT_BYTES`], [`CONFIG_LIMIT_BYTES`]): `oci-client`
/// reads manifests whole, and its fallback for a `HEAD` without `Docker-Content-Digest` is a
/// `GET` of the whole body (175 MiB of peak RSS for a 64 MiB body in
/// `tests/registry.rs::hostile_registries_are_counted_and_change_nothing`).
struct Net {
    oci: Client,
    http: reqwest::Client,
    insecure: Vec<String>,
    auth_cache: Mutex<HashMap<(String, String), CachedAuth>>,
}

/// (registry, repository) -> the `Authorization` header value to send (None: none needed) and
/// when it was obtained.
type CachedAuth = (Option<String>, std::time::Instant);

/// Most bytes of a manifest or index read (registries cap manifests at 4 MiB).
pub const MANIFEST_LIMIT_BYTES: usize = 4 * 1024 * 1024;

/// A registry's answer: status, the `Docker-Content-Digest` header, the body (capped).
struct Answer {
    status: u16,
    digest_header: Option<String>,
    body: Vec<u8>,
}

impl Net {
    fn url(&self, reference: &Reference, path: &str) -> String {
        let host = reference.resolve_registry();
        let scheme = if self
            .insecure
            .iter()
            .any(|h| h == host || h == reference.registry())
        {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}/v2/{}/{path}", reference.repository())
    }

    /// The `Authorization` for pulling `reference`: a cached one, else the token flow.
    async fn authorization(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        fresh: bool,
    ) -> Result<Option<String>, Failure> {
        // Per credentials too: two pull secrets for one registry are two cache entries.
        let who = match auth {
            RegistryAuth::Basic(u, p) => format!("{u}\0{p}"),
            _ => String::new(),
        };
        let key = (
            reference.resolve_registry().to_string(),
            format!("{}\0{who}", reference.repository()),
        );
        if !fresh
            && let Some((value, at)) = self.auth_cache.lock().await.get(&key)
            && at.elapsed() < AUTH_REUSE
        {
            return Ok(value.clone());
        }
        let token = tokio::time::timeout(
            REGISTRY_REQUEST_TIMEOUT * 2,
            self.oci.auth(reference, auth, RegistryOperation::Pull),
        )
        .await
        .map_err(|_| Failure::new(RegistryResult::Error, "token: no answer in time"))?
        .map_err(|e| Failure::new(classify(&e), format!("token: {e}")))?;
        let value = match (token, auth) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, RegistryAuth::Basic(u, p)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            _ => None,
        };
        self.auth_cache
            .lock()
            .await
            .insert(key, (value.clone(), std::time::Instant::now()));
        Ok(value)
    }

    /// One request with the repository's `Authorization` (the token flow run again once after a
    /// 401), its body read up to `limit` bytes, within the request deadline.
    async fn request(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        method: reqwest::Method,
        path: &str,
        accept: &str,
        limit: usize,
    ) -> Result<Answer, Failure> {
        let url = self.url(reference, path);
        for fresh in [false, true] {
            let authorization = self.authorization(reference, auth, fresh).await?;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, accept);
            if let Some(a) = &authorization {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let read = async {
                let mut resp = req.send().await.map_err(|e| {
                    Failure::new(RegistryResult::Error, format!("{method} {url}: {e}"))
                })?;
                let status = resp.status().as_u16();
                let digest_header = resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let mut body = Vec::new();
                while let Some(chunk) = resp.chunk().await.map_err(|e| {
                    Failure::new(RegistryResult::Error, format!("{method} {url}: {e}"))
                })? {
                    if body.len() + chunk.len() > limit {
                        return Err(Failure::new(
                            RegistryResult::Error,
                            format!("{method} {url}: the body is larger than {limit} bytes"),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(Answer {
                    status,
                    digest_header,
                    body,
                })
            };
            let answer = tokio::time::timeout(REGISTRY_REQUEST_TIMEOUT * 2, read)
                .await
                .map_err(|_| {
                    Failure::new(
                        RegistryResult::Error,
                        format!(
                            "{method} {url}: no answer within {}s",
                            (REGISTRY_REQUEST_TIMEOUT * 2).as_secs()
                        ),
                    )
                })??;
            // A reused token may have expired, or the registry asks for auth now: once more.
            if answer.status == 401 && !fresh {
                continue;
            }
            return match answer.status {
                200 => Ok(answer),
                s => Err(Failure::new(
                    status_result(s, &answer.body),
                    format!("{method} {url}: HTTP {s}"),
                )),
            };
        }
        unreachable!("the loop returns on its second pass")
    }

    /// [`Net::head`] with each of `candidates` in turn until one is not refused (401/403, each
    /// refusal counted): the answer, and the credentials that got it (the last tried).
    async fn head_with_any(
        &self,
        reference: &Reference,
        candidates: Vec<RegistryAuth>,
        count: &impl Fn(RegistryResult),
    ) -> (Result<Digest, Failure>, RegistryAuth) {
        let mut head = Err(Failure::new(RegistryResult::Error, "no credentials tried"));
        let mut auth = RegistryAuth::Anonymous;
        for candidate in candidates {
            auth = candidate;
            head = self.head(reference, &auth).await;
            match &head {
                Err(f) if f.result == RegistryResult::Unauthorized => count(f.result),
                _ => break,
            }
        }
        (head, auth)
    }

    /// `HEAD` the tag: its digest from `Docker-Content-Digest`; without the header, a capped
    /// `GET` whose body must be a manifest, hashed (sha256 of the bytes, as the spec defines).
    async fn head(&self, reference: &Reference, auth: &RegistryAuth) -> Result<Digest, Failure> {
        let tag = reference.tag().unwrap_or("latest");
        let path = format!("manifests/{tag}");
        let accept = MANIFEST_TYPES.join(", ");
        let a = self
            .request(reference, auth, reqwest::Method::HEAD, &path, &accept, 0)
            .await?;
        if let Some(raw) = a.digest_header {
            return Digest::parse(raw.trim()).ok_or_else(|| {
                Failure::new(
                    RegistryResult::Error,
                    format!(
                        "malformed Docker-Content-Digest {:?}",
                        raw.chars().take(100).collect::<String>()
                    ),
                )
            });
        }
        let a = self
            .request(
                reference,
                auth,
                reqwest::Method::GET,
                &path,
                &accept,
                MANIFEST_LIMIT_BYTES,
            )
            .await?;
        if parse_manifest(&a.body).is_none() {
            return Err(Failure {
                malformed: true,
                ..Failure::new(
                    RegistryResult::Error,
                    "no Docker-Content-Digest, and the body is no manifest",
                )
            });
        }
        Ok(sha256_digest(&a.body))
    }

    /// One manifest or index by digest, capped and checked against its digest: what it is,
    /// and an image's config digest. Counted.
    async fn manifest(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        d: &Digest,
        count: &impl Fn(RegistryResult),
    ) -> Result<(ManifestKind, Option<Digest>), Failure> {
        let accept = MANIFEST_TYPES.join(", ");
        let out = self
            .request(
                reference,
                auth,
                reqwest::Method::GET,
                &format!("manifests/{d}"),
                &accept,
                MANIFEST_LIMIT_BYTES,
            )
            .await
            .and_then(|a| {
                let parsed = (&sha256_digest(&a.body) == d)
                    .then(|| parse_manifest(&a.body))
                    .flatten();
                parsed.ok_or_else(|| Failure {
                    malformed: true,
                    ..Failure::new(
                        RegistryResult::Error,
                        format!(
                            "the registry answered {} bytes for {d} that are no manifest or index of that digest",
                            a.body.len()
                        ),
                    )
                })
            });
        count(
            out.as_ref()
                .map_or_else(|f| f.result, |_| RegistryResult::Ok),
        );
        out
    }

    /// What `digest` is (an image or an index) and its config's `created` time: one manifest
    /// GET, one more for an index's first image, one config blob GET; each body capped and
    /// checked against its digest.
    async fn describe(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        digest: &Digest,
        count: &impl Fn(RegistryResult),
    ) -> Result<Described, Failure> {
        let get = |d: &Digest| {
            let d = d.clone();
            async move { self.manifest(reference, auth, &d, count).await }
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
            Some(c) => {
                let out = self
                    .request(
                        reference,
                        auth,
                        reqwest::Method::GET,
                        &format!("blobs/{c}"),
                        "application/vnd.oci.image.config.v1+json, application/vnd.docker.container.image.v1+json, */*",
                        CONFIG_LIMIT_BYTES,
                    )
                    .await;
                count(
                    out.as_ref()
                        .map_or_else(|f| f.result, |_| RegistryResult::Ok),
                );
                out.ok().and_then(|a| parse_created(&a.body))
            }
            None => None,
        };
        Ok(Described { manifest, created })
    }
}

/// The `result` of a registry's HTTP status (and its OCI error code, for a 4xx with a body).
fn status_result(status: u16, body: &[u8]) -> RegistryResult {
    match status {
        401 | 403 => RegistryResult::Unauthorized,
        404 => RegistryResult::NotFound,
        429 => RegistryResult::RateLimited,
        _ => serde_json::from_slice::<oci_client::errors::OciEnvelope>(body)
            .ok()
            .and_then(|env| {
                env.errors.iter().find_map(|e| match e.code {
                    OciErrorCode::Toomanyrequests => Some(RegistryResult::RateLimited),
                    OciErrorCode::Denied | OciErrorCode::Unauthorized => {
                        Some(RegistryResult::Unauthorized)
                    }
                    _ => None,
                })
            })
            .unwrap_or(RegistryResult::Error),
    }
}

/// The digest of some bytes, as the OCI spec defines a manifest's: `sha256:` and the hex.
fn sha256_digest(body: &[u8]) -> Digest {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    Digest::from_hex(&hex).unwrap_or_else(|| unreachable!("64 hex digits"))
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
    fn manifests_indexes_and_configs_from_real_shapes() {
        // The OCI index buildah `manifest push --all` writes (docs/fixtures: buildah 1.28).
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"architecture":"amd64","os":"linux"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#;
        let (kind, config) = parse_manifest(index).unwrap();
        assert!(config.is_none());
        let arm64 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        assert!(kind.lists(&Digest::parse(arm64).unwrap(), Some(("linux", "arm64"))));
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
    fn pull_secrets_of_both_types() {
        let json = br#"{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}"#.to_vec();
        let c = secret_credentials(&[(".dockerconfigjson".to_string(), json)].into()).unwrap();
        assert_eq!(
            c.get("registry.example.com"),
            Some(RegistryAuth::Basic("user".into(), "pass".into()))
        );
        let legacy = br#"{"https://index.docker.io/v1/":{"username":"u","password":"p"}}"#.to_vec();
        let c = secret_credentials(&[(".dockercfg".to_string(), legacy)].into()).unwrap();
        assert_eq!(
            c.get("docker.io"),
            Some(RegistryAuth::Basic("u".into(), "p".into()))
        );
        assert!(secret_credentials(&[("token".to_string(), b"x".to_vec())].into()).is_none());
        assert!(
            secret_credentials(&[(".dockerconfigjson".to_string(), b"\xff".to_vec())].into())
                .is_none()
        );
    }

    #[test]
    fn statuses_and_digests_of_answers() {
        assert_eq!(status_result(401, b""), RegistryResult::Unauthorized);
        assert_eq!(status_result(404, b""), RegistryResult::NotFound);
        assert_eq!(status_result(429, b""), RegistryResult::RateLimited);
        assert_eq!(
            status_result(
                400,
                br#"{"errors":[{"code":"TOOMANYREQUESTS","message":""}]}"#
            ),
            RegistryResult::RateLimited
        );
        assert_eq!(status_result(500, b"<html>"), RegistryResult::Error);
        // sha256 of the empty string.
        assert_eq!(
            sha256_digest(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
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
