//! Build logs: fetches a finished build pod's log once per pod UID, a few at a time, and sends
//! what the log scanner found as a `Change::PodLog`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, LogParams};
use tokio::sync::{Semaphore, mpsc};

use super::{LogFetchLabels, SourceEvent, SourceMetrics};
use crate::engine::builds::LogScanner;
use crate::engine::view::Change;

/// Most bytes of a build log read (kaniko logs its push last; `tailLines` keeps the end).
pub const LOG_LIMIT_BYTES: i64 = 8 * 1024 * 1024;
/// Most lines of a build log read.
pub const LOG_TAIL_LINES: i64 = 20_000;

/// Fetches finished build pods' logs, once per pod UID, a few at a time.
pub struct LogFetcher {
    client: Client,
    fetched: std::collections::HashSet<String>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    limit: Arc<Semaphore>,
    metrics: SourceMetrics,
    tx: mpsc::Sender<SourceEvent>,
}

impl LogFetcher {
    pub fn new(
        client: Client,
        concurrency: usize,
        metrics: SourceMetrics,
        tx: mpsc::Sender<SourceEvent>,
    ) -> LogFetcher {
        LogFetcher {
            client,
            fetched: Default::default(),
            in_flight: Default::default(),
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            metrics,
            tx,
        }
    }

    /// Log fetches started and not finished (their result may still change a verdict).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Fetches the log of `namespace/pod` container `container` unless this pod UID was fetched.
    pub fn fetch(&mut self, namespace: &str, pod: &str, uid: &str, container: &str) {
        if uid.is_empty() || !self.fetched.insert(uid.to_string()) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let (ns, pod, container) = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        let limit = self.limit.clone();
        let metrics = self.metrics.clone();
        let tx = self.tx.clone();
        let in_flight = self.in_flight.clone();
        in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let _done = InFlight(in_flight);
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            let params = LogParams {
                container: Some(container.clone()),
                limit_bytes: Some(LOG_LIMIT_BYTES),
                tail_lines: Some(LOG_TAIL_LINES),
                ..LogParams::default()
            };
            match api.logs(&pod, &params).await {
                Ok(text) => {
                    metrics
                        .log_fetches
                        .get_or_create(&LogFetchLabels { result: "ok" })
                        .inc();
                    let facts = LogScanner::scan(&text);
                    let _ = tx
                        .send(SourceEvent::Change(Change::PodLog {
                            namespace: ns,
                            pod,
                            container,
                            facts,
                        }))
                        .await;
                }
                Err(e) => {
                    let result = match &e {
                        kube::Error::Api(s) if s.code == 403 => "forbidden",
                        kube::Error::Api(s) if s.code == 404 || s.code == 400 => "gone",
                        _ => "error",
                    };
                    metrics
                        .log_fetches
                        .get_or_create(&LogFetchLabels { result })
                        .inc();
                    tracing::warn!(pod = %format!("{ns}/{pod}"), container = %container, result, error = %e,
                        "cannot read build log; the build's digest stays unavailable");
                }
            }
        });
    }
}

/// Decrements the in-flight count when a fetch task ends, however it ends.
struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
