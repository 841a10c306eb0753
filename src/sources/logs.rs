//! Build logs: fetches a finished build pod's log once per pod UID, a few at a time, retrying
//! transient failures a bounded number of times, and sends what the log scanner found as a
//! `Change::PodLog` (or `Change::PodLogUnavailable` when it cannot be read).

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, LogParams};
use tokio::sync::{Semaphore, mpsc};

use super::{LogFetchLabels, LogFetchResult, SourceEvent, SourceMetrics};
use crate::engine::builds::LogScanner;
use crate::engine::view::Change;

/// Most bytes of a build log read (kaniko logs its push last; `tailLines` keeps the end).
pub const LOG_LIMIT_BYTES: i64 = 8 * 1024 * 1024;
/// Most lines of a build log read.
pub const LOG_TAIL_LINES: i64 = 20_000;

/// How long one log request may take.
pub const LOG_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Retries of a transient log fetch failure (5xx, 429, network, timeout) after the first try.
pub const LOG_FETCH_RETRIES: usize = 5;

/// 1 s, 2 s, 4 s, 8 s, 16 s with jitter: a build log that fails for half a minute (an API
/// server restarting) is still read.
fn log_fetch_backoff() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(16))
        .with_max_times(LOG_FETCH_RETRIES)
        .with_jitter()
}

/// Why a log fetch failed.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    /// The API server (or the kubelet behind it) answered with an error, or the request failed.
    #[error(transparent)]
    Api(kube::Error),
    /// No answer within [`LOG_FETCH_TIMEOUT`].
    #[error("no answer within {}s", LOG_FETCH_TIMEOUT.as_secs())]
    Timeout,
}

impl FetchError {
    /// 403 (no `pods/log` RBAC), 404 and 400 (the pod or container is gone) are final; server
    /// errors, throttling, network errors and timeouts are worth another try.
    fn is_transient(&self) -> bool {
        match self {
            FetchError::Api(kube::Error::Api(s)) => s.code >= 500 || s.code == 429,
            FetchError::Api(_) | FetchError::Timeout => true,
        }
    }

    /// The `result` label of `kube_verdict_log_fetches_total`.
    fn result_label(&self) -> LogFetchResult {
        match self {
            FetchError::Api(kube::Error::Api(s)) if s.code == 403 => LogFetchResult::Forbidden,
            FetchError::Api(kube::Error::Api(s)) if s.code == 404 || s.code == 400 => {
                LogFetchResult::Gone
            }
            _ => LogFetchResult::Error,
        }
    }
}

/// Fetches finished build pods' logs, once per pod UID, a few at a time.
pub struct LogFetcher {
    client: Client,
    /// (pod UID, container) pairs asked for.
    fetched: std::collections::HashSet<(String, String)>,
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

    /// Forgets the fetched (pod UID, container) pairs whose pod is gone (`alive` says which
    /// UIDs are still in the view), so the set does not grow with every build ever seen.
    pub fn forget_gone(&mut self, alive: impl Fn(&str) -> bool) {
        self.fetched.retain(|(uid, _)| alive(uid));
        if self.fetched.capacity() > 2 * self.fetched.len() + 64 {
            self.fetched.shrink_to_fit();
        }
    }

    /// Pairs remembered as fetched.
    pub fn remembered(&self) -> usize {
        self.fetched.len()
    }

    /// Fetches the log of `namespace/pod` container `container` unless this container of this
    /// pod UID was fetched (a pod may hold several build containers).
    pub fn fetch(&mut self, namespace: &str, pod: &str, uid: &str, container: &str) {
        if uid.is_empty()
            || !self
                .fetched
                .insert((uid.to_string(), container.to_string()))
        {
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
            let who = format!("{ns}/{pod}");
            let read = || async {
                match tokio::time::timeout(LOG_FETCH_TIMEOUT, api.logs(&pod, &params)).await {
                    Ok(r) => r.map_err(FetchError::Api),
                    Err(_) => Err(FetchError::Timeout),
                }
            };
            let result = read
                .retry(log_fetch_backoff())
                .when(FetchError::is_transient)
                .notify(|e, after| {
                    metrics
                        .log_fetches
                        .get_or_create(&LogFetchLabels {
                            result: LogFetchResult::Retry,
                        })
                        .inc();
                    tracing::info!(pod = %who, container = %container, error = %e,
                        retry_in_ms = after.as_millis() as u64, "build log fetch failed; retrying");
                })
                .await;
            let change = match result {
                Ok(text) => {
                    metrics
                        .log_fetches
                        .get_or_create(&LogFetchLabels {
                            result: LogFetchResult::Ok,
                        })
                        .inc();
                    Change::PodLog {
                        namespace: ns,
                        pod,
                        container,
                        facts: LogScanner::scan(&text),
                    }
                }
                Err(e) => {
                    let result = e.result_label();
                    metrics
                        .log_fetches
                        .get_or_create(&LogFetchLabels { result })
                        .inc();
                    tracing::warn!(pod = %who, container = %container, result = result.as_str(), error = %e,
                        "cannot read build log; the build's digest stays unavailable");
                    Change::PodLogUnavailable {
                        namespace: ns,
                        pod,
                        container,
                        reason: e.to_string(),
                    }
                }
            };
            let _ = tx.send(SourceEvent::Change(change)).await;
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
