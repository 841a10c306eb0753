//! What the controller publishes for readers: the last verdicts and the source status (one
//! consistent [`Snapshot`], swapped whole), and the platform-report ledger with its counters.
//! Written by the controller loop and the report endpoints; read by HTTP handlers and the
//! metrics collector.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use jiff::{SignedDuration, Timestamp};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::engine::ledger::{
    Ledger, OTHER_PLATFORM, Outcome, PlatformNames, PlatformReport, ReportError, TrackedReport,
};
use crate::engine::verdict::DeploymentVerdict;
use crate::engine::view::{Key, Kind};

/// Where the verdicts come from: the `source` label of `kube_verdict_source_up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Watching a live API server.
    ApiServer,
    /// An offline dump, judged once.
    Dump,
}

impl SourceKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::ApiServer => "api-server",
            SourceKind::Dump => "dump",
        }
    }
}

/// One consistent picture for readers.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the verdicts were computed.
    pub now: Timestamp,
    pub synced: bool,
    pub unsynced: Vec<Kind>,
    pub verdicts: BTreeMap<Key, Arc<DeploymentVerdict>>,
    pub object_counts: Vec<(Kind, usize)>,
    pub source: SourceKind,
    pub source_up: bool,
    /// The last source error, while the source is down.
    pub source_error: Option<String>,
    /// Problems met reading a dump (the first 1,000), and how many more were counted.
    pub warnings: Vec<String>,
    pub warnings_omitted: usize,
    /// Live only: each watched kind and whether every watch of it is healthy (listed, and no
    /// failed request since). Empty for a dump.
    pub watch_health: Vec<(Kind, bool)>,
}

/// Labels of the platform report counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlatformLabels {
    /// Bounded by the ledger's allow-list ([`PlatformNames`]): other names are `other`.
    pub platform: String,
}

/// Counters of platform failure reports and what the cluster made of them (DESIGN §9).
#[derive(Debug, Clone)]
pub struct ReportMetrics {
    pub received: Family<PlatformLabels, Counter>,
    pub false_negative: Family<PlatformLabels, Counter>,
    pub confirmed: Family<PlatformLabels, Counter>,
    pub unresolved: Family<PlatformLabels, Counter>,
    /// Seconds from a false report to the verdict that contradicted it.
    pub truth_delay: Family<PlatformLabels, Histogram>,
    /// Reports forgotten because the ledger was full.
    pub evicted: Counter,
    /// Reports held, and those still pending.
    pub held: prometheus_client::metrics::gauge::Gauge,
    pub pending: prometheus_client::metrics::gauge::Gauge,
}

impl Default for ReportMetrics {
    fn default() -> Self {
        ReportMetrics {
            received: Family::default(),
            false_negative: Family::default(),
            confirmed: Family::default(),
            unresolved: Family::default(),
            truth_delay: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(5.0, 2.0, 10))
            }),
            evicted: Counter::default(),
            held: Default::default(),
            pending: Default::default(),
        }
    }
}

impl ReportMetrics {
    /// Registers the counters in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "platform_failure_reports",
            "Platform failure reports received, by platform",
            self.received.clone(),
        );
        r.register(
            "platform_false_negative",
            "Platform failure reports the cluster contradicted: the deployment was verified or complete within the report window",
            self.false_negative.clone(),
        );
        r.register(
            "platform_confirmed_failure",
            "Platform failure reports the cluster confirmed: stale, blocked or failed at the end of the window",
            self.confirmed.clone(),
        );
        r.register(
            "platform_unresolved_reports",
            "Platform failure reports whose window ended with the deployment neither done nor failed",
            self.unresolved.clone(),
        );
        r.register_with_unit(
            "platform_report_truth_delay",
            "Time from a platform failure report to the verdict that contradicted it.",
            Unit::Seconds,
            self.truth_delay.clone(),
        );
        r.register(
            "kube_verdict_reports_evicted",
            "Platform reports forgotten because the ledger was full (oldest first)",
            self.evicted.clone(),
        );
        r.register(
            "kube_verdict_reports_held",
            "Platform reports held in the ledger",
            self.held.clone(),
        );
        r.register(
            "kube_verdict_reports_pending",
            "Platform reports whose window has not ended and that are not decided yet",
            self.pending.clone(),
        );
    }
}

/// Shared between the controller loop and the report endpoints (writers) and HTTP/metrics
/// (readers).
#[derive(Debug)]
pub struct Published {
    snapshot: RwLock<Arc<Snapshot>>,
    ledger: Mutex<Ledger>,
    /// The report counters (registered by the wiring).
    pub report_metrics: ReportMetrics,
    /// A platform name was counted as `other`: said once.
    other_said: std::sync::atomic::AtomicBool,
}

impl Published {
    /// Nothing judged yet: every kind unsynced; reports judged over `report_window`, their
    /// `platform` label bounded by `platforms`.
    pub fn new(
        source: SourceKind,
        report_window: SignedDuration,
        platforms: PlatformNames,
    ) -> Published {
        let report_metrics = ReportMetrics::default();
        // The report counters start at 0 for every platform known up front, and `other`.
        for platform in platforms.allowed().chain([OTHER_PLATFORM]) {
            let labels = PlatformLabels {
                platform: platform.to_string(),
            };
            for family in [
                &report_metrics.received,
                &report_metrics.false_negative,
                &report_metrics.confirmed,
                &report_metrics.unresolved,
            ] {
                let _ = family.get_or_create(&labels);
            }
        }
        Published {
            snapshot: RwLock::new(Arc::new(Snapshot {
                now: Timestamp::UNIX_EPOCH,
                synced: false,
                unsynced: Kind::ALL.to_vec(),
                verdicts: BTreeMap::new(),
                object_counts: Vec::new(),
                source,
                source_up: true,
                source_error: None,
                warnings: Vec::new(),
                warnings_omitted: 0,
                watch_health: Vec::new(),
            })),
            ledger: Mutex::new(Ledger::new(report_window, platforms)),
            report_metrics,
            other_said: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A writer that panicked left a whole ledger behind: every mutation is one statement.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a report received at `now` (counted once per id) and judges it against the
    /// current verdicts. `Ok(false)` for a duplicate; an error for a time too far in the future.
    /// Holds the ledger lock for O(log n) work.
    pub fn submit_report(&self, r: PlatformReport, now: Timestamp) -> Result<bool, ReportError> {
        let key = (r.namespace.clone(), r.deployment.clone());
        let name = r.platform.clone();
        let snap = self.snapshot();
        let (submitted, decisions) = {
            let mut ledger = self.ledger();
            let Some(submitted) = ledger.submit(r, now)? else {
                return Ok(false);
            };
            let decisions = if snap.synced {
                ledger.observe_changed(&snap.verdicts, [&key], now)
            } else {
                Vec::new()
            };
            self.report_metrics.held.set(ledger.len() as i64);
            self.report_metrics.pending.set(ledger.pending() as i64);
            (submitted, decisions)
        };
        if submitted.evicted {
            self.report_metrics.evicted.inc();
        }
        if submitted.platform == OTHER_PLATFORM
            && name != OTHER_PLATFORM
            && !self
                .other_said
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                platform = %name.chars().take(80).collect::<String>(),
                "platform counted as platform=\"other\": not in --platforms, and the label values for names first seen are taken (or the name is not a label value); list the platforms with --platforms (said once)"
            );
        }
        self.report_metrics
            .received
            .get_or_create(&PlatformLabels {
                platform: submitted.platform,
            })
            .inc();
        self.count(decisions);
        Ok(true)
    }

    /// Judges the pending reports of the deployments whose verdict changed (`None`: every
    /// pending report) and those whose window ended, against the published verdicts.
    pub fn judge_reports(&self, now: Timestamp, changed: Option<&[Key]>) {
        let snap = self.snapshot();
        if !snap.synced {
            return;
        }
        let decisions = {
            let mut ledger = self.ledger();
            let d = match changed {
                Some(keys) => ledger.observe_changed(&snap.verdicts, keys, now),
                None => ledger.observe(&snap.verdicts, now),
            };
            self.report_metrics.pending.set(ledger.pending() as i64);
            d
        };
        self.count(decisions);
    }

    fn count(&self, decisions: Vec<crate::engine::ledger::Decision>) {
        let m = &self.report_metrics;
        for d in decisions {
            let labels = PlatformLabels {
                platform: d.platform,
            };
            match d.outcome {
                Outcome::FalseNegative => m.false_negative.get_or_create(&labels).inc(),
                Outcome::Confirmed => m.confirmed.get_or_create(&labels).inc(),
                Outcome::Unresolved => m.unresolved.get_or_create(&labels).inc(),
                Outcome::Pending => 0,
            };
            if let Some(secs) = d.truth_delay {
                m.truth_delay.get_or_create(&labels).observe(secs);
            }
        }
    }

    /// The most recent reports, newest first.
    pub fn recent_reports(&self, limit: usize) -> Vec<TrackedReport> {
        self.ledger().recent(limit)
    }

    /// The current snapshot (cheap: an `Arc`).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(g) => g.clone(),
            // A writer panicked mid-update; the Arc it held is still a whole snapshot.
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the snapshot with `f(old)`.
    pub fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut guard = match self.snapshot.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut next = (**guard).clone();
        f(&mut next);
        *guard = Arc::new(next);
    }
}
