//! What the serving side shares: the last published verdicts and source status (written by the
//! engine loop, read by HTTP handlers and the metrics collector) and the self-metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;

use crate::engine::verdict::DeploymentVerdict;
use crate::engine::view::{Key, Kind};
use crate::reports::{Ledger, Outcome, PlatformReport};
use crate::sinks::metrics::SelfMetrics;

/// One consistent picture for readers.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the verdicts were computed.
    pub now: Timestamp,
    pub synced: bool,
    pub unsynced: Vec<Kind>,
    pub verdicts: BTreeMap<Key, Arc<DeploymentVerdict>>,
    pub object_counts: Vec<(Kind, usize)>,
    /// `api-server` or `dump`.
    pub source: String,
    pub source_up: bool,
    /// The last source error, while the source is down.
    pub source_error: Option<String>,
    /// Problems met reading a dump.
    pub warnings: Vec<String>,
}

/// Shared between the engine loop (writer) and HTTP/metrics (readers).
#[derive(Debug)]
pub struct Shared {
    snapshot: RwLock<Arc<Snapshot>>,
    pub metrics: Arc<SelfMetrics>,
    /// Platform failure reports and their outcomes.
    pub ledger: std::sync::Mutex<Ledger>,
}

impl Shared {
    pub fn new(source: &str) -> Shared {
        Shared {
            snapshot: RwLock::new(Arc::new(Snapshot {
                now: Timestamp::UNIX_EPOCH,
                synced: false,
                unsynced: Kind::ALL.to_vec(),
                verdicts: BTreeMap::new(),
                object_counts: Vec::new(),
                source: source.to_string(),
                source_up: true,
                source_error: None,
                warnings: Vec::new(),
            })),
            metrics: Arc::new(SelfMetrics::default()),
            ledger: std::sync::Mutex::new(Ledger::new(jiff::SignedDuration::from_mins(30))),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a report (counted once per id) and judges it against the current verdicts.
    /// Returns false for a duplicate.
    pub fn submit_report(&self, r: PlatformReport, now: Timestamp) -> bool {
        let mut l = self.ledger();
        let platform = l.platform_label(&r.platform);
        let new = l.submit(r);
        if new {
            SelfMetrics::count(
                &self.metrics.platform_failure_reports,
                &[("platform", &platform)],
            );
        }
        drop(l);
        self.judge_reports(now);
        new
    }

    /// Judges pending reports against the published verdicts and counts the decisions.
    pub fn judge_reports(&self, now: Timestamp) {
        let snap = self.snapshot();
        if !snap.synced {
            return;
        }
        let decisions = self.ledger().observe(&snap.verdicts, now);
        for d in decisions {
            let p = [("platform", d.platform.as_str())];
            match d.outcome {
                Outcome::FalseNegative => {
                    SelfMetrics::count(&self.metrics.platform_false_negative, &p)
                }
                Outcome::Confirmed => {
                    SelfMetrics::count(&self.metrics.platform_confirmed_failure, &p)
                }
                Outcome::Unresolved => SelfMetrics::count(&self.metrics.platform_unresolved, &p),
                Outcome::Pending => {}
            }
            if let Some(secs) = d.truth_delay {
                let l = vec![("platform", d.platform.clone())];
                self.metrics
                    .platform_truth_delay
                    .get_or_create(&l)
                    .observe(secs);
            }
        }
    }

    /// Replaces the ledger (a different window).
    pub fn set_report_window(&self, window: jiff::SignedDuration) {
        *self.ledger() = Ledger::new(window);
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
