//! Validated configuration built from the CLI; nothing below this module reads clap or env.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use oci_client::secrets::RegistryAuth;

use crate::cli::{
    CheckArgs, ColorChoice, EngineArgs, KubeArgs, LinkBuildsArg, OnOff, OutputFormat, RegistryArgs,
    RegistryAuthArg, ServeArgs,
};
use crate::engine::events::Owner;
use crate::engine::ledger::{AlertLabels, DEFAULT_EXTRA_PLATFORMS, PlatformNames};
use crate::engine::verdict::{LinkBuilds, OwnerTable, Policy};

/// Configuration of `serve`.
#[derive(Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// The cluster to watch.
    pub kube: KubeOptions,
    pub dump: Option<PathBuf>,
    pub now: Option<Timestamp>,
    pub namespaces: Vec<String>,
    pub policy: Policy,
    /// How often every verdict is recomputed even without changes (time-based transitions).
    pub recheck_interval: Duration,
    pub log_concurrency: usize,
    /// Watch Nodes (false for namespace-scoped RBAC).
    pub watch_nodes: bool,
    /// How long one watch request stays open (`--watch-timeout`).
    pub watch_timeout: Duration,
    /// The report endpoints (token, label names, body limit).
    pub reports: ReportEndpoints,
    /// How long after a platform failure report the cluster may still contradict it.
    pub report_window: SignedDuration,
    /// The platform names that keep their own label value.
    pub platforms: PlatformNames,
    /// Timeouts and the connection cap of the HTTP server.
    pub http: HttpLimits,
    /// Poll Alertmanager for platform alerts.
    pub alertmanager: Option<AlertmanagerPoll>,
    /// Registry lookups (None: off).
    pub registry: Option<RegistryConfig>,
}

/// Registry lookups (DESIGN §7), from `--registry-*`.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `--registry-ttl`.
    pub ttl: SignedDuration,
    pub options: RegistryOptions,
}

/// The registry lookups `args` ask for: None when off (`--registry-lookup=off`, or a dump,
/// which is judged at its own time while a registry answers for the present).
fn registry_config(
    args: &RegistryArgs,
    dump: bool,
) -> Result<(Option<RegistryConfig>, Vec<String>), ConfigError> {
    match (args.registry_lookup, dump) {
        // Not an error: KUBE_VERDICT_REGISTRY_LOOKUP=on set for live runs must not break a
        // `check --dump` in the same environment.
        (Some(OnOff::On), true) => {
            return Ok((
                None,
                vec!["--registry-lookup=on is ignored with --dump: a dump is judged at its own time, and a registry answers what a tag points to now".into()],
            ));
        }
        (Some(OnOff::Off), _) | (None, true) => return Ok((None, Vec::new())),
        _ => {}
    }
    at_least_a_second("registry-ttl", args.registry_ttl)?;
    let (credentials, warnings) = match &args.registry_config {
        Some(p) => Credentials::from_docker_config(p)
            .map_err(|e| ConfigError::Unsupported(format!("--registry-config {e}")))?,
        None => (Credentials::default(), Vec::new()),
    };
    let warnings: Vec<String> = warnings
        .into_iter()
        .map(|w| format!("--registry-config: {w}"))
        .collect();
    let insecure: Vec<String> = args
        .registry_insecure
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if let Some(bad) = insecure
        .iter()
        .find(|h| h.contains("://") || h.contains('/'))
    {
        return Err(ConfigError::Unsupported(format!(
            "--registry-insecure {bad:?}: expected HOST or HOST:PORT as in the image name, e.g. localhost:5000"
        )));
    }
    Ok((
        Some(RegistryConfig {
            ttl: args.registry_ttl,
            options: RegistryOptions {
                insecure,
                credentials,
                concurrency: usize::from(args.registry_concurrency),
                pull_secrets: args.registry_auth == RegistryAuthArg::PullSecrets,
            },
        }),
        warnings,
    ))
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time a client has to send a request's headers, counted from when the server starts
    /// waiting for them: also how long an idle keep-alive connection is kept, and how long a
    /// report body may take once the headers are read.
    pub header_read_timeout: Duration,
    /// Open connections at most; a connection beyond is closed at once (and counted).
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight before closing every connection.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A bearer token read from a file and read again whenever the file changes (its inode,
/// modification or change time, or size: a Secret volume swaps a symlink to a new file, an
/// editor may write the same number of bytes in place), so a rotated Kubernetes Secret takes
/// effect without a restart. A rotation
/// that leaves the file empty or unreadable keeps the last good token (and logs why).
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    cached: std::sync::Mutex<(Option<FileStamp>, String)>,
}

impl TokenFile {
    /// Reads the token once; an unreadable or empty file is an error naming `flag`.
    pub fn load(flag: &'static str, path: &Path) -> Result<TokenFile, ConfigError> {
        let err = |message: String| ConfigError::TokenFile {
            flag,
            path: path.to_path_buf(),
            message,
        };
        let stamp = file_stamp(path);
        let t = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let t = t.trim().to_string();
        if t.is_empty() {
            return Err(err("the file is empty".into()));
        }
        Ok(TokenFile {
            path: path.to_path_buf(),
            cached: std::sync::Mutex::new((stamp, t)),
        })
    }

    /// A token held in memory (tests, and callers without a file).
    pub fn fixed(token: &str) -> TokenFile {
        TokenFile {
            path: PathBuf::new(),
            cached: std::sync::Mutex::new((None, token.to_string())),
        }
    }

    /// The current token: the file is read again when its stamp changed since the last read.
    pub fn current(&self) -> String {
        let mut c = match self.cached.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if self.path.as_os_str().is_empty() {
            return c.1.clone();
        }
        let stamp = file_stamp(&self.path);
        if stamp != c.0 {
            // Logged once per change of the file, never per request.
            match std::fs::read_to_string(&self.path).map(|t| t.trim().to_string()) {
                Ok(t) if !t.is_empty() => {
                    if t != c.1 {
                        tracing::info!(path = %self.path.display(), "token file changed: using the new token");
                    }
                    c.1 = t;
                }
                Ok(_) => {
                    tracing::warn!(path = %self.path.display(), "token file is empty: keeping the last token")
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "token file unreadable or gone: keeping the last token")
                }
            }
            c.0 = stamp;
        }
        c.1.clone()
    }
}

/// What identifies one version of a file: device and inode, modification and change times
/// (nanoseconds), size.
type FileStamp = (u64, u64, std::time::SystemTime, i64, i64, u64);

/// The stamp of a file, following symlinks (as a Secret volume's are).
fn file_stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.dev(),
        m.ino(),
        m.modified().ok()?,
        m.ctime(),
        m.ctime_nsec(),
        m.len(),
    ))
}

/// Settings of the report endpoints (`POST /api/v1/reports`, the Alertmanager webhook).
#[derive(Debug, Clone)]
pub struct ReportEndpoints {
    /// The bearer token POSTs must carry; None disables the endpoints (403).
    pub token: Option<std::sync::Arc<TokenFile>>,
    /// The bearer token `GET /api/v1/verdicts…` and `GET /api/v1/reports` require; None leaves
    /// them open (the default: the verdicts are what /metrics shows anyway).
    pub read_token: Option<std::sync::Arc<TokenFile>>,
    pub labels: AlertLabels,
    /// Largest accepted body, in bytes.
    pub max_body: usize,
    /// Time a body may take once the headers are read.
    pub body_read_timeout: Duration,
}

impl Default for ReportEndpoints {
    fn default() -> Self {
        ReportEndpoints {
            token: None,
            read_token: None,
            labels: AlertLabels::default(),
            max_body: 1024 * 1024,
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Which Alertmanager to poll for platform alerts, and how.
#[derive(Debug, Clone)]
pub struct AlertmanagerPoll {
    /// Base URL, e.g. `http://alertmanager.monitoring:9093`.
    pub url: String,
    /// Matcher selecting the platform's alerts, e.g. `alertname="PlatformDeploymentFailed"`.
    pub matcher: String,
    pub interval: Duration,
    pub labels: AlertLabels,
}

/// A flag value that cannot be used. Each variant says which flag and why. (Durations and
/// times are parsed by clap: a bad one is a usage error before configuration.)
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A duration flag is out of its range.
    #[error("--{flag}: {value} is too short (at least {min})")]
    TooShort {
        flag: &'static str,
        value: String,
        min: &'static str,
    },
    /// A target is not `deployment/NAME` or `NAME`.
    #[error("target {0:?}: expected deployment/NAME or NAME")]
    Target(String),
    /// The owners file cannot be read or holds an unknown cause or owner.
    #[error("--owners {path}: {message}")]
    Owners { path: PathBuf, message: String },
    /// A token file cannot be read or is empty.
    #[error("--{flag} {path}: {message}")]
    TokenFile {
        flag: &'static str,
        path: PathBuf,
        message: String,
    },
    /// A combination that is not supported.
    #[error("{0}")]
    Unsupported(String),
}

/// An interval flag of at least one second, kept to the millisecond.
fn at_least_a_second(flag: &'static str, d: SignedDuration) -> Result<Duration, ConfigError> {
    match Duration::try_from(d) {
        Ok(d) if d >= Duration::from_secs(1) => Ok(d),
        _ => Err(ConfigError::TooShort {
            flag,
            value: format!("{d:#}"),
            min: "1s",
        }),
    }
}

/// Which namespaces to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespaces(Vec<String>),
    /// Neither `-n` nor `-A` on a live cluster: the kubeconfig context's namespace, as kubectl
    /// (resolved once the client is configured, [`CheckConfig::resolve_scope`]).
    Context,
}

impl Scope {
    pub fn contains(&self, ns: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Namespaces(v) => v.iter().any(|n| n == ns),
            Scope::Context => false,
        }
    }
}

/// Which kubeconfig, context, cluster and user to use (kubectl's flags); all None: as kubectl
/// would without flags, or in-cluster.
pub type KubeOptions = KubeArgs;

/// Configuration of `check`.
#[derive(Debug)]
pub struct CheckConfig {
    pub targets: Vec<String>,
    pub scope: Scope,
    /// The cluster to read (live only).
    pub kube: KubeOptions,
    pub dump: Option<PathBuf>,
    pub now: Option<Timestamp>,
    pub output: OutputFormat,
    pub color: bool,
    pub verbose: bool,
    /// `--wait`: keep watching until every target is terminal or `timeout` passes.
    pub wait: bool,
    /// `--timeout`.
    pub timeout: Option<SignedDuration>,
    /// List Nodes (false with `--no-nodes`).
    pub watch_nodes: bool,
    /// How long one watch request stays open (`--watch-timeout`).
    pub watch_timeout: Duration,
    pub policy: Policy,
    /// Registry lookups (None: off; always off for a dump).
    pub registry: Option<RegistryConfig>,
    /// Warnings met reading the configuration (a registry config entry without credentials).
    pub warnings: Vec<String>,
}

fn policy(e: &EngineArgs) -> Result<Policy, ConfigError> {
    let EngineArgs {
        blocked_after,
        scale_up_window,
        rollout_grace,
        link_builds,
        owners,
    } = e;
    Ok(Policy {
        blocked_after: *blocked_after,
        scale_up_window: *scale_up_window,
        rollout_grace: *rollout_grace,
        link_builds: match link_builds {
            LinkBuildsArg::Exact => LinkBuilds::Exact,
            LinkBuildsArg::Repository => LinkBuilds::Repository,
        },
        owners: match owners {
            Some(p) => load_owners(p)?,
            None => OwnerTable::default(),
        },
    })
}

/// Reads an owner table: a YAML/JSON map `cause: owner`.
pub fn load_owners(path: &Path) -> Result<OwnerTable, ConfigError> {
    let err = |message: String| ConfigError::Owners {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let map: std::collections::BTreeMap<String, String> = serde_yaml::from_str(&text)
        .map_err(|e| err(format!("expected a map of cause: owner: {e}")))?;
    let mut table = OwnerTable::default();
    for (cause, owner) in map {
        let o = Owner::parse(&owner)
            .filter(|o| *o != Owner::None)
            .ok_or_else(|| {
                err(format!(
                    "{cause}: owner {owner:?} is not one of application, platform, infrastructure"
                ))
            })?;
        table.set(&cause, o).map_err(err)?;
    }
    Ok(table)
}

/// Normalises `deployment/NAME`, `deployments/NAME`, `deploy/NAME`, `deployment.apps/NAME` or
/// `NAME` to `NAME`.
pub fn parse_target(t: &str) -> Result<String, ConfigError> {
    let name = match t.split_once('/') {
        Some((kind, name)) => {
            if !matches!(
                kind,
                "deployment" | "deployments" | "deploy" | "deployment.apps" | "deployments.apps"
            ) {
                return Err(ConfigError::Target(t.to_string()));
            }
            name
        }
        None => t,
    };
    if name.is_empty() || name.contains('/') {
        return Err(ConfigError::Target(t.to_string()));
    }
    Ok(name.to_string())
}

impl CheckConfig {
    /// Resolves [`Scope::Context`] to the kubeconfig context's namespace.
    pub fn resolve_scope(&mut self, context_namespace: &str) {
        if self.scope == Scope::Context {
            self.scope = Scope::Namespaces(vec![context_namespace.to_string()]);
        }
    }

    pub fn from_args(a: CheckArgs) -> Result<CheckConfig, ConfigError> {
        let CheckArgs {
            targets,
            namespaces,
            all_namespaces,
            dump,
            now,
            output,
            color,
            verbose,
            wait,
            timeout,
            no_nodes,
            watch_timeout,
            kube,
            engine,
            registry,
        } = a;
        let (registry, warnings) = registry_config(&registry, dump.is_some())?;
        // `-n 'shop, ci'`: the spaces around a comma are not part of a name.
        let namespaces: Vec<String> = namespaces.iter().map(|n| n.trim().to_string()).collect();
        if namespaces.iter().any(String::is_empty) {
            return Err(ConfigError::Unsupported(
                "-n/--namespace: an empty namespace name (check the comma-separated list)".into(),
            ));
        }
        let scope = if namespaces.is_empty() && !all_namespaces && dump.is_none() {
            Scope::Context
        } else if all_namespaces || namespaces.is_empty() {
            Scope::All
        } else {
            Scope::Namespaces(namespaces)
        };
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                use std::io::IsTerminal;
                // no-color.org: only a non-empty NO_COLOR turns colour off.
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Ok(CheckConfig {
            kube,
            targets: targets
                .iter()
                .map(|t| parse_target(t))
                .collect::<Result<_, _>>()?,
            scope,
            dump,
            now,
            output,
            color,
            verbose,
            wait,
            timeout,
            watch_nodes: !no_nodes,
            watch_timeout: at_least_a_second("watch-timeout", watch_timeout)?,
            policy: policy(&engine)?,
            registry,
            warnings,
        })
    }
}

impl ServeConfig {
    pub fn from_args(a: ServeArgs) -> Result<ServeConfig, ConfigError> {
        let ServeArgs {
            listen,
            dump,
            now,
            namespaces,
            recheck_interval,
            log_concurrency,
            no_nodes,
            watch_timeout,
            alertmanager_url,
            alertmanager_matcher,
            alertmanager_poll_interval,
            token_file,
            read_token_file,
            report_window,
            label_namespace,
            label_deployment,
            label_platform,
            platforms,
            max_connections,
            http_read_timeout,
            max_body_bytes,
            kube,
            engine,
            registry,
        } = a;
        let (registry, registry_warnings) = registry_config(&registry, dump.is_some())?;
        for w in registry_warnings {
            tracing::warn!("{w}");
        }
        let platforms = platform_names(&platforms, &alertmanager_matcher, &label_platform);
        let labels = AlertLabels {
            namespace: label_namespace,
            deployment: label_deployment,
            platform: label_platform,
        };
        let token = match &token_file {
            Some(p) => Some(std::sync::Arc::new(TokenFile::load("token-file", p)?)),
            None => None,
        };
        let read_token = match &read_token_file {
            Some(p) => Some(std::sync::Arc::new(TokenFile::load("read-token-file", p)?)),
            None => None,
        };
        let poll = alertmanager_poll_interval;
        let alertmanager = match alertmanager_url {
            Some(url) => {
                if !url.starts_with("http://") {
                    return Err(ConfigError::Unsupported(format!(
                        "--alertmanager-url {url:?}: only http:// URLs are supported (in-cluster Alertmanager)"
                    )));
                }
                Some(AlertmanagerPoll {
                    url,
                    matcher: alertmanager_matcher,
                    interval: at_least_a_second("alertmanager-poll-interval", poll)?,
                    labels: labels.clone(),
                })
            }
            None => None,
        };
        let recheck = at_least_a_second("recheck-interval", recheck_interval)?;
        let read_timeout = at_least_a_second("http-read-timeout", http_read_timeout)?;
        Ok(ServeConfig {
            listen,
            kube,
            dump,
            now,
            namespaces: namespaces
                .iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            policy: policy(&engine)?,
            recheck_interval: recheck,
            log_concurrency: usize::from(log_concurrency),
            watch_nodes: !no_nodes,
            watch_timeout: at_least_a_second("watch-timeout", watch_timeout)?,
            reports: ReportEndpoints {
                token,
                read_token,
                labels,
                max_body: max_body_bytes,
                body_read_timeout: read_timeout,
            },
            report_window,
            platforms,
            http: HttpLimits {
                max_connections: max_connections as usize,
                header_read_timeout: read_timeout,
                ..HttpLimits::default()
            },
            alertmanager,
            registry,
        })
    }
}

/// The platform allow-list: `--platforms` alone when given; else the names an equality matcher
/// on the platform label selects (`platform="argo"`) plus the first
/// [`DEFAULT_EXTRA_PLATFORMS`] names seen.
fn platform_names(flag: &[String], matcher: &str, label: &str) -> PlatformNames {
    let given: Vec<String> = flag.iter().filter(|n| !n.is_empty()).cloned().collect();
    if !given.is_empty() {
        return PlatformNames::new(given, 0);
    }
    let from_matcher = matcher.split(',').filter_map(|m| {
        let (name, value) = m.split_once('=')?;
        // `=` only: `!=`, `=~` and `!~` do not name one platform.
        if name.ends_with('!') || value.starts_with('~') || name.trim() != label {
            return None;
        }
        let v = value.trim().trim_matches('"');
        (!v.is_empty()).then(|| v.to_string())
    });
    PlatformNames::new(from_matcher, DEFAULT_EXTRA_PLATFORMS)
}

// Registry credentials and options (DESIGN §7): configuration the registry source reads.

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

    /// The credentials for a registry host, if there are any.
    pub fn get(&self, host: &str) -> Option<RegistryAuth> {
        self.by_host
            .get(&config_host(host))
            .map(|(u, p)| RegistryAuth::Basic(u.clone(), p.clone()))
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
    /// `--registry-auth=pull-secrets`: read the pods' `imagePullSecrets` (needs `get secrets`).
    pub pull_secrets: bool,
}

#[cfg(test)]
mod tests {
    use oci_client::secrets::RegistryAuth;

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
        assert_eq!(c.by_host.len(), 3);
        assert_eq!(
            c.get("docker.io"),
            Some(RegistryAuth::Basic("user".into(), "pass".into()))
        );
        assert_eq!(
            c.get("localhost:5000"),
            Some(RegistryAuth::Basic("ci".into(), "p:w".into()))
        );
        // The password may hold ':' (split at the first).
        assert_eq!(
            c.get("mirror.example.com"),
            Some(RegistryAuth::Basic("alice".into(), "secret:extra".into()))
        );
        assert_eq!(c.get("ghcr.io"), None);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(Credentials::parse_docker_config("not json").is_err());
    }

    use super::*;

    #[test]
    fn platform_names_come_from_the_flag_or_the_matcher() {
        let mut strict = platform_names(&["argo".into(), "flux".into()], "", "platform");
        assert_eq!(strict.label("argo"), "argo");
        assert_eq!(
            strict.label("jenkins"),
            "other",
            "a given list is the whole list"
        );
        let mut m = platform_names(
            &[],
            "alertname=\"PlatformDeploymentFailed\",platform=\"argo\",team!=\"x\"",
            "platform",
        );
        for i in 0..DEFAULT_EXTRA_PLATFORMS {
            assert_eq!(m.label(&format!("p{i}")), format!("p{i}"));
        }
        assert_eq!(m.label("late"), "other");
        assert_eq!(
            m.label("argo"),
            "argo",
            "the matcher's platform always keeps its name"
        );
        assert_eq!(m.label("team"), "other");
    }

    #[test]
    fn targets() {
        assert_eq!(parse_target("deployment/checkout").unwrap(), "checkout");
        assert_eq!(parse_target("deploy/checkout").unwrap(), "checkout");
        assert_eq!(parse_target("checkout").unwrap(), "checkout");
        assert!(parse_target("pod/checkout").is_err());
        assert!(parse_target("deployment/").is_err());
    }
}
