//! The HTTP server loop under the router: hyper's HTTP/1 connection with a header-read (and
//! keep-alive idle) timeout, a cap on open connections, and a graceful shutdown that ends within
//! a bounded time even while clients hold connections open.
//!
//! At the cap, a new connection takes the place of the oldest open connection that has no
//! request in flight (still sending its headers, or idle between keep-alive requests): clients
//! holding half-sent requests cannot keep Prometheus out. Only when every connection is serving a
//! request is the new one closed at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use crate::config::HttpLimits;

/// Connection counters of the server.
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    rejected: Counter,
    evicted: Counter,
}

impl ConnectionMetrics {
    /// Creates the metrics and registers them in `r`.
    pub fn register(r: &mut Registry) -> ConnectionMetrics {
        let m = ConnectionMetrics::default();
        r.register(
            "kube_verdict_http_connections_open",
            "HTTP connections open",
            m.open.clone(),
        );
        r.register(
            "kube_verdict_http_connections_rejected",
            "HTTP connections closed at once because --max-connections were open, each serving a request",
            m.rejected.clone(),
        );
        r.register(
            "kube_verdict_http_connections_evicted",
            "HTTP connections without a request in flight closed to make room for a new one at --max-connections",
            m.evicted.clone(),
        );
        m
    }
}

/// One open connection, as the accept loop sees it.
struct Open {
    /// Requests being served on it now (0: sending headers, or idle between requests).
    in_flight: Arc<AtomicUsize>,
    /// Tells the connection's task to close it.
    close: Arc<Notify>,
}

/// The open connections, by the order they were accepted.
#[derive(Default)]
struct Connections {
    next: u64,
    open: BTreeMap<u64, Open>,
}

impl Connections {
    /// Asks the oldest connection without a request in flight to close; false when every
    /// connection is serving a request.
    fn evict_one(&mut self) -> bool {
        let oldest = self
            .open
            .iter()
            .find(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| self.open.remove(&id)) {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
/// requests in flight finish for at most `limits.shutdown_grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = Arc::new(Mutex::new(Connections::default()));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                let evicted = lock(&connections).evict_one();
                // The evicted connection's task frees its slot as it ends.
                let freed = if evicted {
                    metrics.evicted.inc();
                    tokio::time::timeout(Duration::from_secs(1), slots.clone().acquire_owned())
                        .await
                        .ok()
                        .and_then(Result::ok)
                } else {
                    None
                };
                match freed {
                    Some(slot) => slot,
                    None => {
                        metrics.rejected.inc();
                        drop(stream);
                        continue;
                    }
                }
            }
        };
        let in_flight = Arc::new(AtomicUsize::new(0));
        let close = Arc::new(Notify::new());
        let id = {
            let mut c = lock(&connections);
            let id = c.next;
            c.next += 1;
            c.open.insert(
                id,
                Open {
                    in_flight: in_flight.clone(),
                    close: close.clone(),
                },
            );
            id
        };
        let service = CountingService {
            router: router.clone(),
            in_flight,
        };
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        let open = metrics.open.clone();
        let registry = connections.clone();
        open.inc();
        tokio::spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    tracing::debug!("HTTP connection ended: {e}");
                },
                () = close.notified() => tracing::debug!("HTTP connection closed to make room for a new one"),
            }
            lock(&registry).open.remove(&id);
            open.dec();
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open {:?} after shutdown began: closed",
            limits.shutdown_grace
        );
    }
}

fn lock(c: &Mutex<Connections>) -> std::sync::MutexGuard<'_, Connections> {
    c.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The router as a hyper service that counts the requests in flight on its connection (from
/// the end of the headers to the end of the handler).
#[derive(Clone)]
struct CountingService {
    router: Router,
    in_flight: Arc<AtomicUsize>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for CountingService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let mut router = self.router.clone();
        let guard = InFlight::new(self.in_flight.clone());
        Box::pin(async move {
            let response = tower_service::Service::call(&mut router, req).await;
            drop(guard);
            response
        })
    }
}

/// Counts one request in flight for as long as it lives (also when the handler is dropped).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(n: Arc<AtomicUsize>) -> InFlight {
        n.fetch_add(1, Ordering::AcqRel);
        InFlight(n)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
