//! HTTP: `/metrics`, `/healthz`, `/readyz`, `GET /api/v1/verdicts[?namespace=]` and
//! `GET /api/v1/verdicts/{namespace}/{name}`. Handlers read the published snapshot only.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Deserialize;

use super::metrics;
use super::published::{Published, SourceKind};
use super::report::Report;
use crate::config::ReportEndpoints;
use crate::engine::ledger::{ReportBody, ReportSource, WebhookPayload};

/// Labels of `kube_verdict_report_requests`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `reports` or `alertmanager_webhook`.
    pub endpoint: &'static str,
    /// The HTTP status code answered.
    pub code: &'static str,
}

/// Requests to the report endpoints, by endpoint and HTTP code.
#[derive(Debug, Clone, Default)]
pub struct RequestMetrics {
    pub requests: Family<RequestLabels, Counter>,
}

impl RequestMetrics {
    /// Creates the counter and registers it in `r`.
    pub fn register(r: &mut Registry) -> RequestMetrics {
        let m = RequestMetrics::default();
        r.register(
            "kube_verdict_report_requests",
            "Requests to the report endpoints, by endpoint and HTTP code",
            m.requests.clone(),
        );
        // Every endpoint and code starts at 0: no gap before the first request.
        for (endpoint, ok) in [("reports", "202"), ("alertmanager_webhook", "200")] {
            for code in [ok, "400", "401", "403", "408", "413", "other"] {
                let _ = m.requests.get_or_create(&RequestLabels { endpoint, code });
            }
        }
        m
    }

    fn count(&self, endpoint: &'static str, code: StatusCode) {
        let code = code.as_str();
        // `as_str` borrows from the status; the label set needs a 'static value.
        let code: &'static str = match code {
            "200" => "200",
            "202" => "202",
            "400" => "400",
            "401" => "401",
            "403" => "403",
            "408" => "408",
            "413" => "413",
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels { endpoint, code })
            .inc();
    }
}

#[derive(Clone)]
struct App {
    published: Arc<Published>,
    registry: Arc<Registry>,
    reports: Arc<ReportEndpoints>,
    requests: RequestMetrics,
}

/// The router of `serve`: reads `published`, renders `registry`, counts report requests in
/// `requests`.
pub fn router(
    published: Arc<Published>,
    registry: Registry,
    requests: RequestMetrics,
    reports: ReportEndpoints,
) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/verdicts", get(verdicts))
        .route("/api/v1/verdicts/{namespace}/{name}", get(verdict))
        .route("/api/v1/reports", get(list_reports).post(post_report))
        .route(
            "/api/v1/alertmanager/webhook",
            axum::routing::post(post_webhook),
        )
        .with_state(App {
            published,
            registry: Arc::new(registry),
            reports: Arc::new(reports),
            requests,
        })
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }).to_string())
}

/// Compares a presented token with the secret in time that depends only on the secret's
/// length: every byte of the secret is compared, and a length difference is folded into the
/// result instead of returning early.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != secret.len());
    for (i, s) in secret.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ s;
    }
    diff == 0
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> &str {
    // The scheme is case-insensitive (RFC 7235 §2.1).
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token)
        .trim()
}

fn unauthorized(flag: &str) -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        &format!("missing or wrong bearer token (Authorization: Bearer <token from {flag}>)"),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

/// With `--read-token-file`, the read endpoints require its token: the 401 to send, if any.
fn read_refused(app: &App, headers: &HeaderMap) -> Option<Response> {
    match &app.reports.read_token {
        Some(t) if !same_secret(bearer(headers).as_bytes(), t.current().as_bytes()) => {
            Some(unauthorized("--read-token-file"))
        }
        _ => None,
    }
}

/// Checks the bearer token and reads a bounded body. Err is the response to send.
async fn authorized_body(
    app: &App,
    req: axum::extract::Request,
    endpoint: &'static str,
) -> Result<axum::body::Bytes, Response> {
    let count = |code: StatusCode| app.requests.count(endpoint, code);
    let Some(token) = &app.reports.token else {
        count(StatusCode::FORBIDDEN);
        return Err(error(
            StatusCode::FORBIDDEN,
            "report endpoints are disabled: start serve with --token-file",
        ));
    };
    if !same_secret(bearer(req.headers()).as_bytes(), token.current().as_bytes()) {
        count(StatusCode::UNAUTHORIZED);
        return Err(unauthorized("--token-file"));
    }
    // A body announced larger than the limit is refused before it is read.
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > app.reports.max_body as u64) {
        count(StatusCode::PAYLOAD_TOO_LARGE);
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "body larger than {} bytes (--max-body-bytes)",
                app.reports.max_body
            ),
        ));
    }
    let read = axum::body::to_bytes(req.into_body(), app.reports.max_body);
    let limit = app.reports.body_read_timeout;
    match tokio::time::timeout(limit, read).await {
        Ok(Ok(b)) => Ok(b),
        Err(_) => {
            count(StatusCode::REQUEST_TIMEOUT);
            Err(error(
                StatusCode::REQUEST_TIMEOUT,
                &format!("body not received within {limit:?} (--http-read-timeout)"),
            ))
        }
        Ok(Err(_)) => {
            count(StatusCode::PAYLOAD_TOO_LARGE);
            Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "body larger than {} bytes (--max-body-bytes)",
                    app.reports.max_body
                ),
            ))
        }
    }
}

fn report_now(app: &App) -> jiff::Timestamp {
    let s = app.published.snapshot();
    if s.source == SourceKind::Dump {
        s.now
    } else {
        jiff::Timestamp::now()
    }
}

async fn post_webhook(State(app): State<App>, req: axum::extract::Request) -> Response {
    let body = match authorized_body(&app, req, "alertmanager_webhook").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Parsing and judging thousands of alerts is CPU work: off the runtime's workers, so
    // `/healthz` and `/metrics` keep answering during a storm.
    tokio::task::spawn_blocking(move || accept_webhook(&app, &body))
        .await
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

/// Turns a webhook body into reports (blocking: runs on the blocking pool).
fn accept_webhook(app: &App, body: &[u8]) -> Response {
    let bad = |m: String| {
        app.requests
            .count("alertmanager_webhook", StatusCode::BAD_REQUEST);
        error(StatusCode::BAD_REQUEST, &m)
    };
    let payload: WebhookPayload = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => return bad(format!("not an Alertmanager webhook payload: {e}")),
    };
    if payload.version != "4" {
        return bad(format!(
            "unsupported webhook payload version {:?} (expected \"4\")",
            payload.version
        ));
    }
    let now = report_now(app);
    let (mut new, mut skipped) = (0, Vec::new());
    for a in &payload.alerts {
        // Resolved alerts are not new reports.
        if a.status.as_ref().and_then(|s| s.as_str()) == Some("resolved") {
            continue;
        }
        match a
            .to_report(&app.reports.labels, ReportSource::AlertmanagerWebhook)
            .and_then(|r| app.published.submit_report(r, now))
        {
            Ok(fresh) => new += u32::from(fresh),
            Err(e) => skipped.push(format!("{}: {e}", a.describe())),
        }
    }
    app.requests.count("alertmanager_webhook", StatusCode::OK);
    json(
        StatusCode::OK,
        serde_json::json!({"accepted": new, "skipped": skipped}).to_string(),
    )
}

async fn post_report(State(app): State<App>, req: axum::extract::Request) -> Response {
    let body = match authorized_body(&app, req, "reports").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let bad = |m: String| {
        app.requests.count("reports", StatusCode::BAD_REQUEST);
        error(StatusCode::BAD_REQUEST, &m)
    };
    let parsed: ReportBody = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return bad(format!(
                "expected {{\"platform\", \"namespace\", \"deployment\", \"image\"?, \"time\"?, \"id\"?}}: {e}"
            ));
        }
    };
    let now = report_now(&app);
    let submitted = parsed.to_report(now).and_then(|r| {
        let id = r.id.clone();
        app.published.submit_report(r, now).map(|new| (id, new))
    });
    match submitted {
        Ok((id, new)) => {
            app.requests.count("reports", StatusCode::ACCEPTED);
            json(
                StatusCode::ACCEPTED,
                serde_json::json!({"id": id, "duplicate": !new}).to_string(),
            )
        }
        Err(e) => bad(e.to_string()),
    }
}

#[derive(Deserialize)]
struct ReportsQuery {
    limit: Option<usize>,
}

/// A query string the handler cannot read: 400 with a JSON body, as every API error.
fn bad_query(rejection: &QueryRejection) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("bad query string: {}", rejection.body_text()),
    )
}

async fn list_reports(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<ReportsQuery>, QueryRejection>,
) -> Response {
    if let Some(r) = read_refused(&app, &headers) {
        return r;
    }
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(&e),
    };
    let recent = app
        .published
        .recent_reports(q.limit.unwrap_or(100).min(1000));
    json(
        StatusCode::OK,
        serde_json::to_string_pretty(&serde_json::json!({"reports": recent})).unwrap_or_default(),
    )
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
    let s = app.published.snapshot();
    if !s.synced {
        let kinds: Vec<&str> = s.unsynced.iter().map(|k| k.as_str()).collect();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: still listing {}\n", kinds.join(", ")),
        )
            .into_response();
    }
    if s.source_up {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let failing: Vec<&str> = s
        .watch_health
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(k, _)| k.resource())
        .collect();
    let watches = if failing.is_empty() {
        String::new()
    } else {
        format!("; unhealthy watches: {}", failing.join(", "))
    };
    (
        StatusCode::OK,
        format!(
            "ready, but the source is down; serving the verdicts of {}{watches}: {}\n",
            s.now,
            s.source_error.as_deref().unwrap_or("unknown error")
        ),
    )
        .into_response()
}

/// Before the first complete list, the verdict API answers 503 naming what is still listing
/// (as `/readyz` does): an empty list would read as an empty cluster.
fn not_listed_yet(s: &super::published::Snapshot) -> Option<Response> {
    // A list the API server refuses is an answer: `unknown/forbidden` names the missing RBAC.
    let forbidden = s
        .verdicts
        .values()
        .any(|d| d.cause == crate::engine::verdict::Cause::Forbidden);
    if s.synced || forbidden {
        return None;
    }
    let kinds: Vec<&str> = s.unsynced.iter().map(|k| k.as_str()).collect();
    Some(error(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!(
            "the cluster is not listed yet: still listing {}",
            kinds.join(", ")
        ),
    ))
}

#[derive(Deserialize)]
struct VerdictQuery {
    namespace: Option<String>,
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn verdicts(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<VerdictQuery>, QueryRejection>,
) -> Response {
    if let Some(r) = read_refused(&app, &headers) {
        return r;
    }
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(&e),
    };
    let s = app.published.snapshot();
    if let Some(r) = not_listed_yet(&s) {
        return r;
    }
    let report = Report {
        now: s.now,
        deployments: s
            .verdicts
            .values()
            .filter(|d| q.namespace.as_ref().is_none_or(|n| &d.namespace == n))
            .map(|d| (**d).clone())
            .collect(),
        warnings: s.warnings.clone(),
        warnings_omitted: s.warnings_omitted,
    };
    json(StatusCode::OK, report.to_json())
}

async fn verdict(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    if let Some(r) = read_refused(&app, &headers) {
        return r;
    }
    let s = app.published.snapshot();
    if let Some(r) = not_listed_yet(&s) {
        return r;
    }
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

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole_and_by_length() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        for given in [&b""[..], b"s3cre", b"s3cret!", b"S3cret", b"s3cret\0"] {
            assert!(!same_secret(given, b"s3cret"), "{given:?}");
        }
        // A prefix of the secret padded with zero bytes is still wrong.
        assert!(!same_secret(b"s3c", b"s3c\0\0\0"));
    }
}
