//! The one controller loop of `serve`, live `check` and `check --wait`: applies source events to
//! the view, recomputes the verdicts the engine says a change affects (and all of them on a
//! timer, since `--blocked-after` and `--rollout-grace` are about time), publishes them, judges
//! platform reports, and asks for build logs. It decides nothing itself: the engine does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::mpsc;

use crate::engine::builds::{
    Build, collect_builds, logs_wanted, manifests_wanted, pull_secrets_for, tags_in_use,
    tags_wanted,
};
use crate::engine::image::Digest;
use crate::engine::ledger::ReportError;
use crate::engine::rollout;
use crate::engine::verdict::{DeploymentVerdict, Policy, Verdict, judge};
use crate::engine::view::{Affected, Change, ClusterView, Key, Kind};
use crate::sinks::published::Published;
use crate::sources::SourceEvent;
use crate::sources::logs::LogFetcher;
use crate::sources::registry::RegistryResolver;

/// Registry lookups of the live path (DESIGN §7): who asks, and how long an answer holds.
pub struct RegistryLookup {
    pub resolver: RegistryResolver,
    /// `--registry-ttl`: an answer is asked again after this long.
    pub ttl: SignedDuration,
}

impl RegistryLookup {
    /// The lookups `cfg` asks for (None: off), reading pull secrets through `client`.
    pub fn from_config(
        cfg: Option<&crate::config::RegistryConfig>,
        client: &kube::Client,
        metrics: &crate::sources::SourceMetrics,
        tx: &mpsc::Sender<SourceEvent>,
    ) -> Option<RegistryLookup> {
        cfg.map(|r| RegistryLookup {
            resolver: RegistryResolver::new(
                r.options.clone(),
                Some(client.clone()),
                metrics.clone(),
                tx.clone(),
            ),
            ttl: r.ttl,
        })
    }
}

/// Where the controller reads the time: the one clock of the live path, injected so that a test
/// or a replay can drive it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A backstop, not a rule: the view holds the Events the API server holds, and an Event leaves
/// it when the API server deletes it (its `--event-ttl`, one hour by default: the watch says
/// so, a relist forgets it). Only an Event last seen longer ago than this (a delete missed, a
/// TTL longer than a day) is dropped by age. Shorter than the API server's TTL, serve would judge
/// on fewer Events than `check` on the same cluster (found by replaying the scenario dumps on a
/// real API server: a pull older than an hour read as failed by serve, converging by check).
pub const EVENT_RETENTION: SignedDuration = SignedDuration::from_hours(24);

/// Labels of `deploy_rollout_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabels {
    pub namespace: String,
}

/// What the controller measures.
#[derive(Debug, Clone)]
pub struct ControllerMetrics {
    /// Time from a rollout's start (its new ReplicaSet) to verified/complete.
    pub rollout_duration: Family<NamespaceLabels, Histogram>,
    /// The namespaces `rollout_duration` has a series for (a `Family` cannot list them): a
    /// namespace's series goes when its last Deployment does.
    rollout_namespaces: std::collections::BTreeSet<String>,
}

impl ControllerMetrics {
    /// Creates the histogram and registers it in `r`.
    pub fn register(r: &mut Registry) -> ControllerMetrics {
        let m = ControllerMetrics {
            rollout_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(5.0, 2.0, 10))
            }),
            rollout_namespaces: Default::default(),
        };
        r.register_with_unit(
            "deploy_rollout_duration",
            "Time from a rollout's start (its new ReplicaSet's creation) to verified or complete.",
            Unit::Seconds,
            m.rollout_duration.clone(),
        );
        m
    }
}

/// What must be recomputed after a batch of source events.
#[derive(Debug, Default)]
struct Dirty {
    all: bool,
    namespaces: std::collections::BTreeSet<String>,
    /// Builds of these repositories changed: collect builds again, judge their Deployments.
    repositories: std::collections::BTreeSet<String>,
    /// Only the source status changed: publish, recompute nothing.
    status: bool,
}

impl Dirty {
    fn all() -> Dirty {
        Dirty {
            all: true,
            ..Dirty::default()
        }
    }

    fn is_empty(&self) -> bool {
        !self.all && !self.status && self.namespaces.is_empty() && self.repositories.is_empty()
    }

    fn add(&mut self, a: Affected) {
        match a {
            Affected::Nothing => {}
            Affected::Namespace(ns) => {
                self.namespaces.insert(ns);
            }
            Affected::Builds {
                namespace,
                repositories,
            } => {
                self.namespaces.insert(namespace);
                self.repositories.extend(repositories);
            }
            Affected::Repositories(repositories) => self.repositories.extend(repositories),
            Affected::All => self.all = true,
        }
    }
}

/// How many unreadable objects the controller names (the rest are counted).
pub const SKIPPED_KEPT: usize = 50;

/// The view, the verdicts computed from it, and where they are published.
pub struct Controller {
    view: ClusterView,
    policy: Policy,
    builds: Vec<Build>,
    verdicts: BTreeMap<Key, Arc<DeploymentVerdict>>,
    published: Arc<Published>,
    fetcher: Option<LogFetcher>,
    registry: Option<RegistryLookup>,
    metrics: ControllerMetrics,
    clock: Arc<dyn Clock>,
    /// The `/version` probe's last answer: None while it answers, else its error.
    probe_error: Option<String>,
    /// The watches whose last request failed, with the error, until their next completed list.
    failing_watches: BTreeMap<(Kind, Option<String>), String>,
    /// Changes arrived while frozen: judge everything when the source is healthy again.
    owed_recompute: bool,
    /// Watched objects that could not be read, by `Kind namespace/name`, with the problem (the
    /// first [`SKIPPED_KEPT`]), and how many more skips there were (of other objects, each
    /// relist counting again).
    skipped: BTreeMap<String, String>,
    skipped_more: usize,
    /// When the published verdicts were judged: while frozen they keep this time, so
    /// `kube_verdict_last_judged_timestamp_seconds`, the API's `now` and `/readyz` show their age.
    judged_at: Option<Timestamp>,
}

impl Controller {
    pub fn new(
        policy: Policy,
        published: Arc<Published>,
        fetcher: Option<LogFetcher>,
        metrics: ControllerMetrics,
        clock: Arc<dyn Clock>,
    ) -> Controller {
        Controller {
            view: ClusterView::new(),
            policy,
            builds: Vec::new(),
            verdicts: BTreeMap::new(),
            published,
            fetcher,
            registry: None,
            metrics,
            clock,
            probe_error: None,
            failing_watches: BTreeMap::new(),
            owed_recompute: false,
            skipped: BTreeMap::new(),
            skipped_more: 0,
            judged_at: None,
        }
    }

    /// Asks registries what the tags of images without an in-cluster build point to.
    pub fn with_registry(mut self, registry: Option<RegistryLookup>) -> Controller {
        self.registry = registry;
        self
    }

    /// Applies source events in batches and recomputes after each batch, and everything every
    /// `recheck`, until `done(self)` holds after a step or every source is gone (shutting down).
    pub async fn run_until(
        &mut self,
        rx: &mut mpsc::Receiver<SourceEvent>,
        recheck: Duration,
        mut done: impl FnMut(&Controller) -> bool,
    ) {
        let mut tick = tokio::time::interval(recheck);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut dirty = Dirty::default();
            let mut ticked = false;
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { return };
                    self.apply(ev, &mut dirty);
                    // Drain what is already queued, so a burst costs one recompute.
                    while let Ok(ev) = rx.try_recv() {
                        self.apply(ev, &mut dirty);
                    }
                }
                _ = tick.tick() => {
                    dirty = Dirty::all();
                    ticked = true;
                }
            }
            // Before every kind is listed every verdict is unknown/not_synced: judging after
            // each page of the first lists made the sync quadratic, so it waits for the recheck
            // tick or the end of the last list (at once when a kind is forbidden: that verdict
            // is news). After the first sync, while a watch is failing or relisting or the API
            // server does not answer, the view may be half old, half new: the last verdicts
            // stay (source_up says they are not fresh) until every watch is healthy again.
            // Either way the changes are owed, and the verdicts keep the time they were judged.
            let listing = !self.view.is_synced() && self.view.forbidden().is_empty() && !ticked;
            if listing || self.frozen() {
                if !dirty.is_empty() {
                    self.owed_recompute = true;
                    self.publish(self.judged_at.unwrap_or_else(|| self.clock.now()));
                }
            } else if !dirty.is_empty() || self.owed_recompute {
                if std::mem::take(&mut self.owed_recompute) {
                    dirty = Dirty::all();
                }
                let now = self.clock.now();
                let (started, all) = (std::time::Instant::now(), dirty.all);
                let changed = self.recompute(now, dirty);
                tracing::debug!(
                    all,
                    changed = changed.len(),
                    took_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "recomputed"
                );
                self.published.judge_reports(now, Some(&changed));
            }
            if done(self) {
                return;
            }
        }
    }

    /// Applies one source event and records what it makes dirty.
    fn apply(&mut self, ev: SourceEvent, dirty: &mut Dirty) {
        match ev {
            SourceEvent::Up => {
                dirty.status |= self.probe_error.take().is_some();
            }
            SourceEvent::Down { what, error } => {
                let error = format!("{what}: {error}");
                dirty.status |= self.probe_error.as_ref() != Some(&error);
                self.probe_error = Some(error);
            }
            SourceEvent::WatchHealth {
                kind,
                namespace,
                error,
            } => {
                let key = (kind, namespace);
                let changed = match error {
                    None => self.failing_watches.remove(&key).is_some(),
                    Some(e) => self.failing_watches.insert(key, e).is_none(),
                };
                dirty.status |= changed;
            }
            SourceEvent::Report(r) => match self.published.submit_report(r, self.clock.now()) {
                Ok(_) => {}
                // An alert firing for longer than the window comes back at every poll: quiet.
                Err(e @ ReportError::TooOld(..)) => tracing::debug!("platform report skipped: {e}"),
                Err(e) => tracing::warn!("platform report rejected: {e}"),
            },
            SourceEvent::Skipped(e) => {
                let key = format!("{} {}", e.kind, e.name);
                if self.skipped.len() < SKIPPED_KEPT || self.skipped.contains_key(&key) {
                    self.skipped.insert(key, e.problem);
                } else {
                    self.skipped_more += 1;
                }
            }
            SourceEvent::Change(c) => {
                if let Change::Synced(kind) = &c
                    && !self.view.is_listed(*kind)
                {
                    tracing::debug!(?kind, "listed");
                }
                dirty.add(self.view.apply(c))
            }
        }
    }

    /// After the first sync, verdicts are frozen while any watch is failing or the probe fails:
    /// the last verdicts judged on a whole, healthy view stay served (and `source_up` is 0).
    /// Before the first sync nothing is frozen, so `unknown/not_synced` and `unknown/forbidden`
    /// are told as they are.
    fn frozen(&self) -> bool {
        self.view.is_synced() && (self.probe_error.is_some() || !self.failing_watches.is_empty())
    }

    /// Each watched kind and whether all its watches are healthy: listed, and no failure since.
    fn watch_health(&self) -> Vec<(Kind, bool)> {
        let unsynced = self.view.unsynced();
        Kind::ALL
            .into_iter()
            .chain(self.view.expected())
            .map(|k| {
                let failing = self.failing_watches.keys().any(|(f, _)| *f == k);
                (k, !failing && !unsynced.contains(&k))
            })
            .collect()
    }

    /// The first failing watch or the probe's error, for `/readyz` and `check`'s messages.
    fn source_error_text(&self) -> Option<String> {
        let watch = self
            .failing_watches
            .iter()
            .next()
            .map(|((k, ns), e)| match ns {
                Some(ns) => format!("{} in {ns}: {e}", k.resource()),
                None => format!("{}: {e}", k.resource()),
            });
        self.probe_error.clone().or(watch)
    }

    /// Recomputes what is dirty at `now`, publishes the snapshot and starts log fetches.
    /// Returns the deployments whose verdict (verdict, cause or image) is new, changed or gone:
    /// the only ones whose pending platform reports can be decided by it.
    fn recompute(&mut self, now: Timestamp, dirty: Dirty) -> Vec<Key> {
        if dirty.all {
            self.view.prune_events(now, EVENT_RETENTION);
            if let Some(f) = self.fetcher.as_mut() {
                let alive: std::collections::HashSet<&str> =
                    self.view.pods().map(|p| p.meta.uid.as_str()).collect();
                f.forget_gone(|uid| alive.contains(uid));
            }
        }
        if dirty.all
            && let Some(r) = &self.registry
        {
            // Answers of tags no Deployment runs go; those older than the TTL are asked
            // again below, once the builds are collected (on the recheck tick).
            let _ = r;
            let used = tags_in_use(&self.view);
            let built: std::collections::HashSet<&Digest> = self
                .builds
                .iter()
                .filter_map(|b| b.digest.as_ref())
                .collect();
            self.view
                .prune_registry(|name| used.contains(name), |d| built.contains(d));
        }
        if dirty.all || !dirty.repositories.is_empty() {
            self.builds = collect_builds(&self.view);
            if let Some(f) = self.fetcher.as_mut() {
                let wanted: Vec<_> = logs_wanted(&self.view, &self.builds)
                    .map(|w| {
                        f.fetch(w.namespace, w.pod, w.pod_uid, w.container);
                        Change::PodLogPending {
                            namespace: w.namespace.to_string(),
                            pod: w.pod.to_string(),
                            container: w.container.to_string(),
                        }
                    })
                    .collect();
                // Judged below as pending, never as a definite verdict without the digest.
                for c in wanted {
                    self.view.apply(c);
                }
            }
            if let Some(r) = &self.registry {
                self.ask_registry(now, r.ttl);
            }
        }
        let mut next: BTreeMap<Key, Arc<DeploymentVerdict>> = if dirty.all {
            BTreeMap::new()
        } else {
            // A dirty namespace is judged whole again (its deleted Deployments drop out).
            self.verdicts
                .iter()
                .filter(|((ns, _), _)| !dirty.namespaces.contains(ns))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        for d in self.view.deployments() {
            let affected = dirty.all
                || dirty.namespaces.contains(&d.meta.namespace)
                || (!dirty.repositories.is_empty() && d.uses_repository(&dirty.repositories));
            if !affected {
                continue;
            }
            let v = judge(&self.view, &self.builds, d, &self.policy, now);
            let key = d.meta.key();
            if let Some(prev) = self.verdicts.get(&key)
                && !prev.verdict.is_done()
                && prev.verdict != Verdict::Unknown
                && v.verdict.is_done()
                && let Some(started) = rollout::analyse(&self.view, d).started_at()
            {
                let secs = now.duration_since(started).as_secs_f64().max(0.0);
                self.metrics
                    .rollout_namespaces
                    .insert(d.meta.namespace.clone());
                self.metrics
                    .rollout_duration
                    .get_or_create(&NamespaceLabels {
                        namespace: d.meta.namespace.clone(),
                    })
                    .observe(secs);
            }
            next.insert(key, Arc::new(v));
        }
        let same = |a: &DeploymentVerdict, b: &DeploymentVerdict| {
            (a.verdict, a.cause, &a.image) == (b.verdict, b.cause, &b.image)
        };
        let changed: Vec<Key> = next
            .iter()
            .filter(|(k, v)| self.verdicts.get(*k).is_none_or(|p| !same(p, v)))
            .map(|(k, _)| k.clone())
            .chain(
                self.verdicts
                    .keys()
                    .filter(|k| !next.contains_key(*k))
                    .cloned(),
            )
            .collect();
        self.verdicts = next;
        self.drop_gone_namespaces();
        self.judged_at = Some(now);
        self.publish(now);
        changed
    }

    /// Starts a lookup for each tag due (never asked, or answered longer ago than `ttl`) of an
    /// image no in-cluster build pushes; each is pending in the view until answered.
    fn ask_registry(&mut self, now: Timestamp, ttl: SignedDuration) {
        let Some(r) = &self.registry else { return };
        for name in tags_wanted(&self.view, &self.builds, now, ttl) {
            let secrets = if r.resolver.uses_pull_secrets() {
                pull_secrets_for(&self.view, &name)
            } else {
                Vec::new()
            };
            r.resolver.resolve(&name, secrets);
            self.view.apply(Change::RegistryPending { name });
        }
        // Multi-arch: the manifests of in-cluster builds' digests and of the digests their pods
        // run instead, read once each (an index lists the per-platform manifest CRI-O reports).
        for (repository, digest) in manifests_wanted(&self.view, &self.builds, now, ttl) {
            r.resolver.describe_digest(&repository, &digest);
            self.view.apply(Change::RegistryManifestPending { digest });
        }
    }

    /// Removes the rollout-duration series of namespaces that no longer hold a Deployment.
    fn drop_gone_namespaces(&mut self) {
        let verdicts = &self.verdicts;
        let gone: Vec<String> = self
            .metrics
            .rollout_namespaces
            .iter()
            .filter(|ns| {
                verdicts
                    .range(((*ns).clone(), String::new())..)
                    .next()
                    .is_none_or(|((n, _), _)| n != *ns)
            })
            .cloned()
            .collect();
        for ns in gone {
            self.metrics.rollout_duration.remove(&NamespaceLabels {
                namespace: ns.clone(),
            });
            self.metrics.rollout_namespaces.remove(&ns);
        }
    }

    fn publish(&self, now: Timestamp) {
        let verdicts = self.verdicts.clone();
        let counts = self.view.counts();
        let health = self.watch_health();
        // Up only while the probe answers and every watch of every resource is healthy.
        let up = self.probe_error.is_none() && health.iter().all(|(_, ok)| *ok);
        let err = self.source_error_text();
        let synced = self.view.is_synced();
        let unsynced = self.view.unsynced();
        self.published.update(|s| {
            s.now = now;
            s.synced = synced;
            s.unsynced = unsynced;
            s.verdicts = verdicts;
            s.object_counts = counts;
            s.source_up = up;
            s.source_error = err;
            s.watch_health = health;
        });
    }

    /// The watched objects that could not be read, one line each (`Pod shop/x: skipped: ...`;
    /// the first [`SKIPPED_KEPT`], then how many more skips of other objects there were).
    pub fn skipped(&self) -> Vec<String> {
        let more = (self.skipped_more > 0).then(|| {
            format!(
                "{} more failed reads of other objects (only the first {SKIPPED_KEPT} objects are named)",
                self.skipped_more
            )
        });
        self.skipped
            .iter()
            .map(|(who, why)| format!("{who}: skipped: {why}"))
            .chain(more)
            .collect()
    }

    /// The view the verdicts are judged on.
    pub fn view(&self) -> &ClusterView {
        &self.view
    }

    /// The current verdicts.
    pub fn verdicts(&self) -> impl Iterator<Item = &Arc<DeploymentVerdict>> {
        self.verdicts.values()
    }

    /// Build log fetches not finished yet (their result may still change a verdict): running,
    /// or finished with their answer not yet applied to the view (the fetch ends when it has
    /// sent its answer, which waits in the channel for the next batch; `check` stopping in
    /// between published `digest_pending` as its answer).
    pub fn logs_in_flight(&self) -> usize {
        let running = self.fetcher.as_ref().map(|f| f.in_flight()).unwrap_or(0);
        running.max(self.view.logs_pending())
    }

    /// Registry lookups not answered yet, running or waiting to be applied (as for logs).
    pub fn registry_in_flight(&self) -> usize {
        let running = self
            .registry
            .as_ref()
            .map(|r| r.resolver.in_flight())
            .unwrap_or(0);
        running.max(self.view.tags_pending())
    }

    /// True while the verdicts are frozen (after the first sync, a watch failing or the probe
    /// down): they are the last ones judged on a healthy view, not the present.
    pub fn is_frozen(&self) -> bool {
        self.frozen()
    }

    /// The last source error (a failing watch, or the probe), while there is one.
    pub fn source_error(&self) -> Option<String> {
        self.source_error_text()
    }

    /// The controller's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::view::ProjectionError;
    use crate::sinks::published::SourceKind;

    /// Unreadable objects are named once each, the first `SKIPPED_KEPT` of them; the rest are
    /// counted (a cluster of broken objects cannot grow the controller without bound).
    #[test]
    fn skipped_objects_are_named_once_and_bounded() {
        let published = Arc::new(Published::new(
            SourceKind::ApiServer,
            Default::default(),
            Default::default(),
        ));
        let mut registry = prometheus_client::registry::Registry::default();
        let mut c = Controller::new(
            Policy::default(),
            published,
            None,
            ControllerMetrics::register(&mut registry),
            Arc::new(SystemClock),
        );
        let skipped = |i: usize| {
            SourceEvent::Skipped(ProjectionError {
                kind: "Pod",
                name: format!("shop/p{i:03}"),
                problem: "malformed".into(),
            })
        };
        let mut dirty = Dirty::default();
        // Every pod twice (a relist reads them again): 60 distinct.
        for i in (0..60).chain(0..60) {
            c.apply(skipped(i), &mut dirty);
        }
        let lines = c.skipped();
        assert_eq!(lines.len(), SKIPPED_KEPT + 1, "{lines:?}");
        assert_eq!(lines[0], "Pod shop/p000: skipped: malformed");
        assert_eq!(
            lines.last().map(String::as_str),
            // Skips are counted, not objects: each relist reads an unreadable object again.
            Some("20 more failed reads of other objects (only the first 50 objects are named)")
        );
        assert!(dirty.is_empty(), "nothing to judge again");
    }
}
