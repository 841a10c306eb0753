//! HTTP: `/metrics`, `/healthz`, `/readyz`, `GET /api/v1/verdicts[?namespace=]` and
//! `GET /api/v1/verdicts/{namespace}/{name}`. Handlers read the published snapshot only.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde::Deserialize;

use crate::sinks::metrics;
use crate::sinks::report::Report;
use crate::state::Shared;

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    registry: Arc<Registry>,
}

/// The router of `serve`.
pub fn router(shared: Arc<Shared>, registry: Registry) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/verdicts", get(verdicts))
        .route("/api/v1/verdicts/{namespace}/{name}", get(verdict))
        .with_state(App {
            shared,
            registry: Arc::new(registry),
        })
}

async fn metrics_handler(State(app): State<App>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (ct, body) = metrics::render(&app.registry, accept);
    ([(header::CONTENT_TYPE, ct)], body).into_response()
}

/// 503 until every resource has been listed (so a restart never publishes `unknown` as truth to
/// an alert); 200 afterwards, also while the API server is unreachable (the last verdicts are
/// still served, and the body says since when they are not refreshed).
async fn readyz(State(app): State<App>) -> Response {
    let s = app.shared.snapshot();
    if !s.synced {
        let kinds: Vec<&str> = s.unsynced.iter().map(|k| k.as_str()).collect();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: still listing {}\n", kinds.join(", ")),
        )
            .into_response();
    }
    match (&s.source_up, &s.source_error) {
        (false, Some(e)) => (
            StatusCode::OK,
            format!(
                "ready, but the source is down; serving the verdicts of {}: {e}\n",
                s.now
            ),
        )
            .into_response(),
        _ => (StatusCode::OK, "ready\n").into_response(),
    }
}

#[derive(Deserialize)]
struct VerdictQuery {
    namespace: Option<String>,
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn verdicts(State(app): State<App>, Query(q): Query<VerdictQuery>) -> Response {
    let s = app.shared.snapshot();
    let report = Report {
        now: s.now,
        deployments: s
            .verdicts
            .values()
            .filter(|d| q.namespace.as_ref().is_none_or(|n| &d.namespace == n))
            .map(|d| (**d).clone())
            .collect(),
        warnings: s.warnings.clone(),
    };
    json(StatusCode::OK, report.to_json())
}

async fn verdict(
    State(app): State<App>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let s = app.shared.snapshot();
    match s.verdicts.get(&(namespace.clone(), name.clone())) {
        Some(d) => json(
            StatusCode::OK,
            serde_json::to_string_pretty(&**d).unwrap_or_default(),
        ),
        None => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": format!("deployment {namespace}/{name} is not known")})
                .to_string(),
        ),
    }
}
