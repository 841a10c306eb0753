//! Command-line interface: clap structs only. Every flag is documented; `config.rs` validates.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::{SignedDuration, Timestamp};

/// Parses a duration flag: `90s`, `2m`, `1h30m`, `1.5h` or jiff's friendly format; never
/// negative. A bad value is a usage error (exit 2).
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    if s.trim().starts_with('-') {
        return Err(format!("{s:?} is negative: a duration is 0 or more"));
    }
    let d: SignedDuration = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (examples: 90s, 2m, 1h30m)"))?;
    if d.is_negative() {
        return Err(format!("{s:?} is negative: a duration is 0 or more"));
    }
    Ok(d)
}

/// Parses an RFC 3339 time flag (`2026-11-20T10:15:00Z`).
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an RFC 3339 time (example: 2026-11-20T10:15:00Z)"))
}

/// Tells the truth about Kubernetes deployments: did the image the build pushed reach the
/// running pods, and if not, who has to act?
#[derive(Debug, Parser)]
#[command(name = "kube-verdict", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Judge deployments once and print a report.
    ///
    /// Exit codes: 0 every deployment is verified or complete; 3 some are converging or unknown
    /// and none worse, or nothing was in scope (no Deployment found: never a pass); 4 at least
    /// one is stale, blocked or failed; 1 the input could not be read; 2 usage error.
    Check(Box<CheckArgs>),
    /// Run continuously: a Prometheus exporter (`/metrics`) and the verdict API
    /// (`/api/v1/verdicts`), fed by watching the cluster (or by a dump, to try it out).
    Serve(Box<ServeArgs>),
    /// Print a shell completion script: `source <(kube-verdict completions bash)`, or write it
    /// where your shell loads completions from.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `kube-verdict man > kube-verdict.1`, `kube-verdict man check >
    /// kube-verdict-check.1`, `kube-verdict man serve > kube-verdict-serve.1`; read one with
    /// `man ./kube-verdict-check.1`.
    Man {
        /// The subcommand whose page to print (`check`, `serve`); none: the overview.
        #[arg(value_parser = ["check", "serve"])]
        command: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A report for people: one line per deployment, then details.
    Text,
    /// The JSON document of the API (`{"now": …, "deployments": […]}`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinkBuildsArg {
    /// Only builds of the exact image (registry, repository and tag) decide a verdict.
    Exact,
    /// A running or failed build of any tag of the image's repository also decides it.
    Repository,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// The registry as the second source of truth (DESIGN §7), shared by `check` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Ask each image's registry what its tag points to now (OCI distribution API, HEAD), for
    /// containers no in-cluster build pushes: pods running that digest are `verified`, another
    /// one `stale` after --rollout-grace. Default: on for a live cluster; a dump is judged at
    /// its own time, so --dump never asks.
    #[arg(
        long,
        value_enum,
        value_name = "on|off",
        env = "KUBE_VERDICT_REGISTRY_LOOKUP"
    )]
    pub registry_lookup: Option<OnOff>,

    /// How long a registry's answer for a tag holds before the tag is asked again (also after a
    /// failure: a registry down is asked once per this time).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5m",
        env = "KUBE_VERDICT_REGISTRY_TTL", value_parser = parse_duration)]
    pub registry_ttl: SignedDuration,

    /// A docker `config.json` with registry credentials (its `auths` entries: `auth` as base64
    /// `user:password`, or `username` and `password`). Credential helpers are not run. Default:
    /// every registry is asked anonymously (the bearer-token flow of public registries).
    #[arg(long, value_name = "FILE", env = "KUBE_VERDICT_REGISTRY_CONFIG")]
    pub registry_config: Option<PathBuf>,

    /// A registry (`HOST[:PORT]`, as in the image name) asked over plain http (repeatable, or
    /// comma-separated). Default: https everywhere.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        value_delimiter = ',',
        env = "KUBE_VERDICT_REGISTRY_INSECURE"
    )]
    pub registry_insecure: Vec<String>,

    /// Registry lookups at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub registry_concurrency: u16,

    /// Where registry credentials come from: `config` (only --registry-config), or
    /// `pull-secrets`: first the `imagePullSecrets` of the pods that run the image (read through
    /// the API server: needs `get secrets`, the optional deploy/registry-pull-secrets), then
    /// --registry-config.
    #[arg(long, value_enum, value_name = "config|pull-secrets", default_value_t = RegistryAuthArg::Config, env = "KUBE_VERDICT_REGISTRY_AUTH")]
    pub registry_auth: RegistryAuthArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryAuthArg {
    /// Only the docker config.json of --registry-config.
    Config,
    /// The pods' imagePullSecrets first, then --registry-config.
    PullSecrets,
}

/// Which cluster to talk to, as kubectl's global flags say it (a kubectl plugin takes them).
#[derive(Debug, Clone, Default, Args)]
pub struct KubeArgs {
    /// Path to the kubeconfig file. Default: KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster service account.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use. Default: the current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig cluster to use. Default: the context's.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The kubeconfig user to use. Default: the context's.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

/// Options shared by `check` and (later) `serve`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// How long a blocker (or an application failure) must persist before it is declared;
    /// before that the verdict stays `converging`. Long enough for a cluster autoscaler to react.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2m",
        env = "KUBE_VERDICT_BLOCKED_AFTER", value_parser = parse_duration)]
    pub blocked_after: SignedDuration,

    /// How long a cluster-autoscaler `TriggeredScaleUp` or Karpenter `Nominated` keeps a pending
    /// pod `converging/scaling_up` (cluster-autoscaler's max-node-provision-time); after that the
    /// new node did not help and the blocker stands.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "15m",
        env = "KUBE_VERDICT_SCALE_UP_WINDOW", value_parser = parse_duration)]
    pub scale_up_window: SignedDuration,

    /// How long a newer successful build may wait for its rollout before the pods are `stale`.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5m",
        env = "KUBE_VERDICT_ROLLOUT_GRACE", value_parser = parse_duration)]
    pub rollout_grace: SignedDuration,

    /// Whether builds of other tags in the same repository can decide a verdict.
    #[arg(long, value_enum, default_value_t = LinkBuildsArg::Exact, env = "KUBE_VERDICT_LINK_BUILDS")]
    pub link_builds: LinkBuildsArg,

    /// YAML or JSON map from cause to owner overriding the default owner table, e.g.
    /// `{untolerated_taint: infrastructure, digest_mismatch: application}`.
    #[arg(long, value_name = "FILE", env = "KUBE_VERDICT_OWNERS")]
    pub owners: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Deployments to judge: `deployment/NAME`, `deploy/NAME` or `NAME`. Default: every
    /// Deployment in scope.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Only these namespaces (repeatable, or comma-separated). Default: the kubeconfig
    /// context's namespace, as kubectl (`-A` for every namespace); for a dump, every namespace
    /// in it.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,

    /// Every namespace (the default for dumps; conflicts with -n).
    #[arg(short = 'A', long = "all-namespaces", conflicts_with = "namespaces")]
    pub all_namespaces: bool,

    /// Read an offline dump (`kubectl cluster-info dump --output-directory=DIR`, plus any
    /// `kubectl get -o json|yaml` files added to it) instead of a live cluster.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,

    /// With --dump: the time to judge at (RFC 3339). Default: the newest timestamp in the dump,
    /// so the same dump always gives the same answer. (A live cluster is judged at the present.)
    #[arg(long, value_name = "RFC3339", requires = "dump", value_parser = parse_time)]
    pub now: Option<Timestamp>,

    /// Do not list Nodes (a namespace-scoped account without cluster-wide read). Nodes only name
    /// the taints behind Kubernetes 1.35's keyless `untolerated taint(s)` message and tell
    /// whether any node matches a pod's selector. A 403 on Nodes falls back to this by itself.
    #[arg(long, env = "KUBE_VERDICT_NO_NODES", conflicts_with = "dump")]
    pub no_nodes: bool,

    /// How long the API server keeps one watch request open before the watch resumes. A list
    /// or watch connection silent for this long and half again is a hung list or a half-open
    /// watch: it is dropped, listed again and counted (kube_verdict_watch_restarts_total,
    /// reason="stalled").
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        env = "KUBE_VERDICT_WATCH_TIMEOUT", value_parser = parse_duration)]
    pub watch_timeout: SignedDuration,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Colour in the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print the evidence of verified deployments too (always printed for a single one).
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Wait until every target reaches a terminal verdict (verified, complete, stale, blocked,
    /// failed), like `kubectl rollout status` that says why (live cluster only).
    #[arg(long, requires = "timeout", conflicts_with = "dump")]
    pub wait: bool,

    /// How long `--wait` waits (e.g. `10m`); without `--wait`, how long to wait for the first
    /// list of the cluster (default 60s). Live cluster only: a dump never changes.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "dump")]
    pub timeout: Option<SignedDuration>,

    #[command(flatten)]
    pub kube: KubeArgs,

    #[command(flatten)]
    pub engine: EngineArgs,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve HTTP on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "0.0.0.0:8080",
        env = "KUBE_VERDICT_LISTEN"
    )]
    pub listen: SocketAddr,

    /// Serve the verdicts of an offline dump instead of watching a cluster (to try the exporter).
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,

    /// With --dump: the time to judge at (RFC 3339); default the dump's newest timestamp.
    #[arg(long, value_name = "RFC3339", requires = "dump", value_parser = parse_time)]
    pub now: Option<Timestamp>,

    /// Watch only these namespaces (repeatable, or comma-separated); default all. Nodes are
    /// always watched cluster-wide.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        value_delimiter = ',',
        env = "KUBE_VERDICT_NAMESPACES"
    )]
    pub namespaces: Vec<String>,

    /// How often every verdict is recomputed without any change (time-based transitions such as
    /// --blocked-after and --rollout-grace).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "15s",
        env = "KUBE_VERDICT_RECHECK_INTERVAL", value_parser = parse_duration)]
    pub recheck_interval: SignedDuration,

    /// Build logs fetched at the same time, at most.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        env = "KUBE_VERDICT_LOG_CONCURRENCY",
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub log_concurrency: u16,

    /// Do not watch Nodes (for a namespace-scoped install without cluster-wide RBAC). Nodes only
    /// name the taints behind Kubernetes 1.35's keyless `untolerated taint(s)` message.
    #[arg(long, env = "KUBE_VERDICT_NO_NODES")]
    pub no_nodes: bool,

    /// How long the API server keeps one watch request open before the watch resumes. A list
    /// or watch connection silent for this long and half again is a hung list or a half-open
    /// watch: it is dropped, listed again and counted (kube_verdict_watch_restarts_total,
    /// reason="stalled").
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        env = "KUBE_VERDICT_WATCH_TIMEOUT", value_parser = parse_duration)]
    pub watch_timeout: SignedDuration,

    /// Alertmanager to poll for platform failure alerts (its v2 API), e.g.
    /// `http://alertmanager.monitoring:9093`.
    #[arg(long, value_name = "URL", env = "KUBE_VERDICT_ALERTMANAGER_URL")]
    pub alertmanager_url: Option<String>,

    /// Matcher selecting the platform's failure alerts.
    #[arg(
        long,
        value_name = "MATCHER",
        default_value = "alertname=\"PlatformDeploymentFailed\"",
        env = "KUBE_VERDICT_ALERTMANAGER_MATCHER"
    )]
    pub alertmanager_matcher: String,

    /// How often Alertmanager is polled.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub alertmanager_poll_interval: SignedDuration,

    /// File holding the bearer token that `POST /api/v1/alertmanager/webhook` and
    /// `POST /api/v1/reports` require. Without it those endpoints answer 403. The file is read
    /// again when it changes (a rotated Secret), without a restart.
    #[arg(long, value_name = "FILE", env = "KUBE_VERDICT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,

    /// File holding a bearer token that `GET /api/v1/verdicts[/…]` and `GET /api/v1/reports`
    /// then require (off by default: they show what /metrics shows). Read again when the file
    /// changes, like --token-file.
    #[arg(long, value_name = "FILE", env = "KUBE_VERDICT_READ_TOKEN_FILE")]
    pub read_token_file: Option<PathBuf>,

    /// How long after a platform failure report the cluster may still contradict it.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30m",
        env = "KUBE_VERDICT_REPORT_WINDOW", value_parser = parse_duration)]
    pub report_window: SignedDuration,

    /// Alert label naming the namespace.
    #[arg(long, value_name = "LABEL", default_value = "namespace")]
    pub label_namespace: String,

    /// Alert label naming the deployment.
    #[arg(long, value_name = "LABEL", default_value = "deployment")]
    pub label_deployment: String,

    /// Alert label naming the platform.
    #[arg(long, value_name = "LABEL", default_value = "platform")]
    pub label_platform: String,

    /// The platform names that keep their own `platform` label value in the report counters
    /// (comma-separated); every other name is counted as `other`. Default: the names the
    /// Alertmanager matcher selects (`platform="argo"`) plus the first 10 other names seen
    /// (each 1-63 characters of [A-Za-z0-9._-]).
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        env = "KUBE_VERDICT_PLATFORMS"
    )]
    pub platforms: Vec<String>,

    /// Open HTTP connections at most. At the cap a new connection replaces the oldest one
    /// without a request in flight (kube_verdict_http_connections_evicted_total); when every
    /// connection is serving a request it is closed at once
    /// (kube_verdict_http_connections_rejected_total).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Time a client has to send a request's headers (also how long an idle keep-alive
    /// connection is kept), and then its body; a slower client is disconnected.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub http_read_timeout: SignedDuration,

    /// Largest report or webhook body accepted (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    #[command(flatten)]
    pub kube: KubeArgs,

    #[command(flatten)]
    pub engine: EngineArgs,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("90s").unwrap(),
            SignedDuration::from_secs(90)
        );
        assert_eq!(parse_duration("2m").unwrap(), SignedDuration::from_mins(2));
        assert_eq!(
            parse_duration("1h30m").unwrap(),
            SignedDuration::from_mins(90)
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
