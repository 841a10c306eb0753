//! The engine loop of `serve` and live `check`: applies source events to the view, recomputes
//! the verdicts a change touches (and all of them on a timer, since `--blocked-after` and
//! `--rollout-grace` are about time), publishes them, and asks for build logs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::engine::builds::{Build, BuildStatus, collect_builds};
use crate::engine::rollout;
use crate::engine::verdict::{DeploymentVerdict, Policy, Verdict, judge};
use crate::engine::view::{Change, ClusterView, Key, Kind, Object};
use crate::sinks::metrics::SelfMetrics;
use crate::sources::live::{LogFetcher, SourceEvent};
use crate::state::Shared;

/// Where the engine loop reads the time: the one clock of the live path, injected so that a
/// test or a replay can drive it.
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

/// Events older than this no longer decide a verdict and are dropped from the view.
pub const EVENT_RETENTION: SignedDuration = SignedDuration::from_hours(1);

/// What must be recomputed after a batch of changes.
#[derive(Debug, Default)]
pub struct Dirty {
    all: bool,
    namespaces: BTreeSet<String>,
    /// Only the source status changed: publish, recompute nothing.
    status: bool,
}

impl Dirty {
    pub fn all() -> Dirty {
        Dirty {
            all: true,
            ..Dirty::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.all && !self.status && self.namespaces.is_empty()
    }
}

/// The view and the verdicts computed from it.
pub struct LiveEngine {
    pub view: ClusterView,
    policy: Policy,
    builds: Vec<Build>,
    verdicts: BTreeMap<Key, Arc<DeploymentVerdict>>,
    shared: Arc<Shared>,
    fetcher: Option<LogFetcher>,
    source_up: bool,
    source_error: Option<String>,
}

fn is_build_pod(o: &Object) -> bool {
    matches!(o, Object::Pod(p) if p.may_be_build())
}

impl LiveEngine {
    pub fn new(policy: Policy, shared: Arc<Shared>, fetcher: Option<LogFetcher>) -> LiveEngine {
        LiveEngine {
            view: ClusterView::new(),
            policy,
            builds: Vec::new(),
            verdicts: BTreeMap::new(),
            shared,
            fetcher,
            source_up: true,
            source_error: None,
        }
    }

    /// Applies one source event and records what it makes dirty.
    pub fn apply(&mut self, ev: SourceEvent, dirty: &mut Dirty) {
        match ev {
            SourceEvent::Up => {
                if !self.source_up {
                    dirty.status = true;
                }
                self.source_up = true;
                self.source_error = None;
            }
            SourceEvent::Down { what, error } => {
                if self.source_up {
                    dirty.status = true;
                }
                self.source_up = false;
                self.source_error = Some(format!("{what}: {error}"));
            }
            SourceEvent::Change(c) => {
                match &c {
                    Change::Apply(o) => {
                        let (kind, (ns, _)) = o.kind_key();
                        if matches!(kind, Kind::Node | Kind::Job) || is_build_pod(o) {
                            dirty.all = true;
                        } else {
                            dirty.namespaces.insert(ns);
                        }
                    }
                    Change::Delete(kind, (ns, name)) => {
                        let build = *kind == Kind::Pod
                            && self.view.pods_in(ns).any(|p| {
                                &p.meta.name == name && is_build_pod(&Object::Pod(p.clone()))
                            });
                        if build || matches!(kind, Kind::Node | Kind::Job) {
                            dirty.all = true;
                        } else {
                            dirty.namespaces.insert(ns.clone());
                        }
                    }
                    Change::PodLog { .. }
                    | Change::Synced(_)
                    | Change::Forbidden(_)
                    | Change::RelistDone(..) => dirty.all = true,
                    Change::Relist(..) => {}
                }
                self.view.apply(c);
            }
        }
    }

    /// Recomputes what is dirty at `now`, publishes the snapshot and starts log fetches.
    pub fn recompute(&mut self, now: Timestamp, dirty: Dirty) {
        if dirty.all {
            self.view.prune_events(now - EVENT_RETENTION);
            self.builds = collect_builds(&self.view);
            if let Some(f) = self.fetcher.as_mut() {
                for b in &self.builds {
                    if b.status != BuildStatus::Running
                        && b.digest.is_none()
                        && !b.pod_uid.is_empty()
                        && self
                            .view
                            .log_facts(&b.namespace, &b.pod, &b.container)
                            .is_none()
                    {
                        f.fetch(&b.namespace, &b.pod, &b.pod_uid, &b.container);
                    }
                }
            }
        }
        let mut next: BTreeMap<Key, Arc<DeploymentVerdict>> = if dirty.all {
            BTreeMap::new()
        } else {
            self.verdicts
                .iter()
                .filter(|((ns, _), _)| !dirty.namespaces.contains(ns))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        for d in self.view.deployments() {
            if !dirty.all && !dirty.namespaces.contains(&d.meta.namespace) {
                continue;
            }
            let v = judge(&self.view, &self.builds, d, &self.policy, now);
            let key = d.meta.key();
            let done = |v: Verdict| matches!(v, Verdict::Verified | Verdict::Complete);
            if let Some(prev) = self.verdicts.get(&key)
                && !done(prev.verdict)
                && prev.verdict != Verdict::Unknown
                && done(v.verdict)
                && let Some(started) = rollout::analyse(&self.view, d)
                    .new_rs
                    .and_then(|r| r.meta.created)
            {
                let secs = now.duration_since(started).as_secs_f64().max(0.0);
                let labels = vec![("namespace", d.meta.namespace.clone())];
                self.shared
                    .metrics
                    .rollout_duration
                    .get_or_create(&labels)
                    .observe(secs);
            }
            next.insert(key, Arc::new(v));
        }
        self.verdicts = next;
        self.publish(now);
    }

    fn publish(&self, now: Timestamp) {
        let verdicts = self.verdicts.clone();
        let counts = self.view.counts();
        let (up, err) = (self.source_up, self.source_error.clone());
        let synced = self.view.is_synced();
        let unsynced = self.view.unsynced();
        self.shared.update(|s| {
            s.now = now;
            s.synced = synced;
            s.unsynced = unsynced;
            s.verdicts = verdicts;
            s.object_counts = counts;
            s.source_up = up;
            s.source_error = err;
        });
    }

    /// The current verdicts.
    pub fn verdicts(&self) -> impl Iterator<Item = &Arc<DeploymentVerdict>> {
        self.verdicts.values()
    }

    /// Build log fetches not finished yet.
    pub fn logs_in_flight(&self) -> usize {
        self.fetcher.as_ref().map(|f| f.in_flight()).unwrap_or(0)
    }

    pub fn metrics(&self) -> &SelfMetrics {
        &self.shared.metrics
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }
}
