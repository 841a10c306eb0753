//! What the serving side shares: the last published verdicts and source status (written by the
//! engine loop, read by HTTP handlers and the metrics collector) and the self-metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;

use crate::engine::verdict::DeploymentVerdict;
use crate::engine::view::{Key, Kind};
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
        }
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
