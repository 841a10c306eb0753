//! Polls Alertmanager's v2 API for the platform's failure alerts. Polling sees inhibited and
//! silenced alerts too, and rebuilds the report ledger after a restart.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use tokio::sync::mpsc;

use super::{SourceErrorLabels, SourceErrorStep, SourceEvent, SourceMetrics};
use crate::config::AlertmanagerPoll;
use crate::engine::ledger::{Alert, ReportSource};

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn encode_query(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The alerts URL: active, silenced, inhibited and unprocessed alerts matching the matcher.
pub fn alerts_url(p: &AlertmanagerPoll) -> String {
    format!(
        "{}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true&filter={}",
        p.url.trim_end_matches('/'),
        encode_query(&p.matcher)
    )
}

/// Starts the poller: every firing alert matching the matcher is sent as a
/// [`SourceEvent::Report`] (the ledger counts the same alert once).
/// Time for one poll, headers and body.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest alert list accepted (about 10,000 alerts with their labels and annotations).
pub const MAX_ALERTS_BYTES: usize = 16 * 1024 * 1024;

pub fn start(p: AlertmanagerPoll, metrics: SourceMetrics, tx: mpsc::Sender<SourceEvent>) {
    tokio::spawn(async move {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut tick = tokio::time::interval(p.interval);
        let url = alerts_url(&p);
        loop {
            tick.tick().await;
            let result = async {
                let uri: hyper::Uri = url
                    .parse()
                    .map_err(|e| format!("bad --alertmanager-url: {e}"))?;
                // The whole answer, headers and body, within the time limit and size cap: a
                // stuck or hostile Alertmanager cannot hold the poller or fill memory.
                let (status, body) = tokio::time::timeout(POLL_TIMEOUT, async {
                    let resp = client.get(uri).await.map_err(|e| e.to_string())?;
                    let status = resp.status();
                    let body = http_body_util::Limited::new(resp.into_body(), MAX_ALERTS_BYTES)
                        .collect()
                        .await
                        .map_err(|e| format!("reading the answer: {e}"))?
                        .to_bytes();
                    Ok::<_, String>((status, body))
                })
                .await
                .map_err(|_| format!("no whole answer within {POLL_TIMEOUT:?}"))??;
                if !status.is_success() {
                    return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
                }
                serde_json::from_slice::<Vec<Alert>>(&body)
                    .map_err(|e| format!("not an alert list: {e}"))
            }
            .await;
            match result {
                Ok(alerts) => {
                    for a in alerts {
                        match a.to_report(&p.labels, ReportSource::AlertmanagerApi) {
                            Ok(r) => {
                                if tx.send(SourceEvent::Report(r)).await.is_err() {
                                    return; // the controller is gone: shutting down
                                }
                            }
                            Err(e) => {
                                tracing::warn!(alert = %a.describe(), error = %e, labels = ?a.labels, "platform alert skipped")
                            }
                        }
                    }
                }
                Err(e) => {
                    metrics
                        .source_errors
                        .get_or_create(&SourceErrorLabels {
                            resource: "alertmanager",
                            error: SourceErrorStep::Poll,
                        })
                        .inc();
                    tracing::warn!(error = %e, url = %url, "cannot poll Alertmanager");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::AlertLabels;

    #[test]
    fn matcher_is_encoded_into_the_filter() {
        let p = AlertmanagerPoll {
            url: "http://am:9093/".into(),
            matcher: "alertname=\"PlatformDeploymentFailed\"".into(),
            interval: Duration::from_secs(15),
            labels: AlertLabels::default(),
        };
        assert_eq!(
            alerts_url(&p),
            "http://am:9093/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true&filter=alertname%3D%22PlatformDeploymentFailed%22"
        );
    }
}
