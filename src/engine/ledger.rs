//! Platform failure reports (DESIGN §9): a report says "platform P failed to deploy NS/NAME at T
//! (image I)". Each is judged once against the verdicts that follow it: `false_negative` if the
//! deployment is verified or complete at any time within the window after the report,
//! `confirmed` if it ends the window stale, blocked or failed, otherwise `unresolved`. Pure: the
//! ledger takes verdicts and an explicit `now`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::engine::image::ImageRef;
use crate::engine::verdict::{DeploymentVerdict, Verdict};
use crate::engine::view::Key;

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// Polled from Alertmanager's v2 API.
    AlertmanagerApi,
    /// Pushed by Alertmanager's webhook.
    AlertmanagerWebhook,
    /// Posted by a CI system to `/api/v1/reports`.
    Api,
}

/// One platform failure report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformReport {
    /// Deduplication key: the same failure seen twice, or through two inputs, counts once.
    pub id: String,
    pub platform: String,
    pub namespace: String,
    pub deployment: String,
    /// The image the platform tried to deploy, when it says.
    pub image: Option<String>,
    pub reported_at: Timestamp,
    pub source: ReportSource,
}

/// The judgement of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still inside the window, nothing decided yet.
    Pending,
    /// The cluster contradicted the report: the deploy worked.
    FalseNegative,
    /// The cluster confirmed the failure.
    Confirmed,
    /// The window ended with the deployment neither done nor failed.
    Unresolved,
}

/// A report and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct TrackedReport {
    #[serde(flatten)]
    pub report: PlatformReport,
    pub outcome: Outcome,
    /// When the outcome was decided.
    pub decided_at: Option<Timestamp>,
    /// The verdict that decided it (or the last one seen).
    pub verdict: Option<String>,
    pub evidence: Vec<String>,
}

/// What the ledger decided in one step, for the counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub platform: String,
    pub outcome: Outcome,
    /// Seconds from the report to the verified verdict (false negatives only).
    pub truth_delay: Option<f64>,
}

/// The reports kept (newest first win when over capacity) and their outcomes.
#[derive(Debug)]
pub struct Ledger {
    window: SignedDuration,
    max_reports: usize,
    reports: BTreeMap<String, TrackedReport>,
    platforms: BTreeSet<String>,
    max_platforms: usize,
}

/// The `platform` label value for platforms beyond the bound.
pub const OTHER_PLATFORM: &str = "other";

fn same_image(a: &str, b: &str) -> bool {
    match (ImageRef::parse(a), ImageRef::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl Ledger {
    pub fn new(window: SignedDuration) -> Ledger {
        Ledger {
            window,
            max_reports: 10_000,
            reports: BTreeMap::new(),
            platforms: BTreeSet::new(),
            max_platforms: 20,
        }
    }

    /// Bounds the `platform` label: the first 20 platforms keep their name, later ones are
    /// counted as `other`.
    pub fn platform_label(&mut self, p: &str) -> String {
        if self.platforms.contains(p) {
            return p.to_string();
        }
        if self.platforms.len() < self.max_platforms {
            self.platforms.insert(p.to_string());
            return p.to_string();
        }
        OTHER_PLATFORM.to_string()
    }

    /// Adds a report. Returns the report's bounded `platform` label when it is new, `None` when
    /// it was already known (same id): the same failure seen twice counts once.
    pub fn submit(&mut self, mut r: PlatformReport) -> Option<String> {
        if self.reports.contains_key(&r.id) {
            return None;
        }
        r.platform = self.platform_label(&r.platform);
        if self.reports.len() >= self.max_reports {
            // Forget the oldest decided report.
            let oldest = self
                .reports
                .values()
                .filter(|t| t.outcome != Outcome::Pending)
                .min_by_key(|t| t.report.reported_at)
                .map(|t| t.report.id.clone());
            if let Some(id) = oldest {
                self.reports.remove(&id);
            }
        }
        let platform = r.platform.clone();
        self.reports.insert(
            r.id.clone(),
            TrackedReport {
                report: r,
                outcome: Outcome::Pending,
                decided_at: None,
                verdict: None,
                evidence: vec![],
            },
        );
        Some(platform)
    }

    /// Judges pending reports against the current verdicts at `now`.
    pub fn observe(
        &mut self,
        verdicts: &BTreeMap<Key, std::sync::Arc<DeploymentVerdict>>,
        now: Timestamp,
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        for t in self
            .reports
            .values_mut()
            .filter(|t| t.outcome == Outcome::Pending)
        {
            let r = &t.report;
            let key = (r.namespace.clone(), r.deployment.clone());
            let d = verdicts.get(&key);
            let in_window = now.duration_since(r.reported_at) <= self.window;
            if let Some(d) = d {
                t.verdict = Some(format!("{}/{}", d.verdict.as_str(), d.cause.as_str()));
                // A report about a named image is contradicted only by that image.
                let image_ok = r.image.as_deref().is_none_or(|i| same_image(i, &d.image));
                let done = d.verdict.is_done();
                if done && image_ok && in_window && now >= r.reported_at {
                    t.outcome = Outcome::FalseNegative;
                    t.decided_at = Some(now);
                    t.evidence = vec![format!(
                        "{}/{} was {} ({}) at {now}: {}",
                        r.namespace,
                        r.deployment,
                        d.verdict.as_str(),
                        d.cause.as_str(),
                        d.summary
                    )];
                    out.push(Decision {
                        platform: r.platform.clone(),
                        outcome: Outcome::FalseNegative,
                        truth_delay: Some(now.duration_since(r.reported_at).as_secs_f64().max(0.0)),
                    });
                    continue;
                }
                if done && !image_ok {
                    t.evidence = vec![format!(
                        "{}/{} is {} but runs {}, not the reported {}",
                        r.namespace,
                        r.deployment,
                        d.verdict.as_str(),
                        d.image,
                        r.image.as_deref().unwrap_or("")
                    )];
                }
            }
            if !in_window {
                let failed = d.is_some_and(|d| {
                    matches!(
                        d.verdict,
                        Verdict::Stale | Verdict::Blocked | Verdict::Failed
                    )
                });
                t.outcome = if failed {
                    Outcome::Confirmed
                } else {
                    Outcome::Unresolved
                };
                t.decided_at = Some(now);
                if let Some(d) = d {
                    t.evidence.push(format!(
                        "{}/{} ended the window {} ({}, owner {}): {}",
                        r.namespace,
                        r.deployment,
                        d.verdict.as_str(),
                        d.cause.as_str(),
                        d.owner.as_str(),
                        d.summary
                    ));
                } else {
                    t.evidence.push(format!(
                        "{}/{} is not known to kube-verdict",
                        r.namespace, r.deployment
                    ));
                }
                out.push(Decision {
                    platform: r.platform.clone(),
                    outcome: t.outcome,
                    truth_delay: None,
                });
            }
        }
        out
    }

    /// The most recent reports, newest first.
    pub fn recent(&self, limit: usize) -> Vec<TrackedReport> {
        let mut v: Vec<&TrackedReport> = self.reports.values().collect();
        v.sort_by_key(|t| std::cmp::Reverse(t.report.reported_at));
        v.into_iter().take(limit).cloned().collect()
    }
}

/// Which labels of a platform alert name the namespace, deployment and platform.
#[derive(Debug, Clone)]
pub struct AlertLabels {
    pub namespace: String,
    pub deployment: String,
    pub platform: String,
}

impl Default for AlertLabels {
    fn default() -> Self {
        AlertLabels {
            namespace: "namespace".into(),
            deployment: "deployment".into(),
            platform: "platform".into(),
        }
    }
}

/// An alert as Alertmanager sends it (webhook `alerts[]` and API v2 `GET /alerts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub starts_at: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// Alertmanager's webhook payload (version 4); only the fields used.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookPayload {
    pub version: String,
    pub alerts: Vec<Alert>,
}

/// Why an alert or a report body is not a usable report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("missing label or field {0:?}")]
    Missing(String),
    #[error("{0:?} is not an RFC 3339 time")]
    Time(String),
}

impl Alert {
    /// Turns a firing platform alert into a report. The id is the same for the poller and the
    /// webhook: platform, namespace, deployment and start time.
    pub fn to_report(
        &self,
        labels: &AlertLabels,
        source: ReportSource,
    ) -> Result<PlatformReport, ReportError> {
        let get = |k: &str| {
            self.labels
                .get(k)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| ReportError::Missing(k.to_string()))
        };
        let namespace = get(&labels.namespace)?;
        let deployment = get(&labels.deployment)?;
        let platform = self
            .labels
            .get(&labels.platform)
            .cloned()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let starts = self
            .starts_at
            .clone()
            .ok_or_else(|| ReportError::Missing("startsAt".into()))?;
        let reported_at: Timestamp = starts
            .parse()
            .map_err(|_| ReportError::Time(starts.clone()))?;
        Ok(PlatformReport {
            id: format!(
                "{platform}/{namespace}/{deployment}/{}",
                reported_at.as_second()
            ),
            platform,
            namespace,
            deployment,
            image: self.labels.get("image").cloned().filter(|v| !v.is_empty()),
            reported_at,
            source,
        })
    }
}

/// The body of `POST /api/v1/reports`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub platform: String,
    pub namespace: String,
    pub deployment: String,
    #[serde(default)]
    pub image: Option<String>,
    /// RFC 3339; default: when received.
    #[serde(default)]
    pub time: Option<String>,
    /// A stable id of the failure in the CI system (default: platform/namespace/deployment/time).
    #[serde(default)]
    pub id: Option<String>,
}

impl ReportBody {
    pub fn to_report(&self, now: Timestamp) -> Result<PlatformReport, ReportError> {
        for (k, v) in [
            ("platform", &self.platform),
            ("namespace", &self.namespace),
            ("deployment", &self.deployment),
        ] {
            if v.is_empty() {
                return Err(ReportError::Missing(k.into()));
            }
        }
        let reported_at = match &self.time {
            Some(t) => t.parse().map_err(|_| ReportError::Time(t.clone()))?,
            None => now,
        };
        Ok(PlatformReport {
            id: self.id.clone().unwrap_or_else(|| {
                format!(
                    "{}/{}/{}/{}",
                    self.platform,
                    self.namespace,
                    self.deployment,
                    reported_at.as_second()
                )
            }),
            platform: self.platform.clone(),
            namespace: self.namespace.clone(),
            deployment: self.deployment.clone(),
            image: self.image.clone().filter(|i| !i.is_empty()),
            reported_at,
            source: ReportSource::Api,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::Owner;
    use crate::engine::verdict::Cause;
    use std::sync::Arc;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + s).unwrap()
    }

    fn verdict(v: Verdict, cause: Cause, image: &str) -> BTreeMap<Key, Arc<DeploymentVerdict>> {
        let d = DeploymentVerdict {
            namespace: "shop".into(),
            name: "checkout".into(),
            verdict: v,
            cause,
            owner: Owner::None,
            image: image.into(),
            summary: "s".into(),
            next_step: None,
            containers: vec![],
            blockers: vec![],
            evidence: vec![],
        };
        BTreeMap::from([(("shop".to_string(), "checkout".to_string()), Arc::new(d))])
    }

    fn report(image: Option<&str>) -> PlatformReport {
        PlatformReport {
            id: "ci/shop/checkout/1".into(),
            platform: "ci".into(),
            namespace: "shop".into(),
            deployment: "checkout".into(),
            image: image.map(String::from),
            reported_at: t(60),
            source: ReportSource::Api,
        }
    }

    #[test]
    fn converging_then_verified_within_the_window_is_a_false_negative() {
        let mut l = Ledger::new(SignedDuration::from_mins(30));
        assert!(l.submit(report(None)).is_some());
        assert!(
            l.submit(report(None)).is_none(),
            "the same report counts once"
        );
        assert!(
            l.observe(
                &verdict(Verdict::Converging, Cause::BuildRunning, "x:1"),
                t(61)
            )
            .is_empty()
        );
        let d = l.observe(
            &verdict(Verdict::Verified, Cause::DigestMatch, "x:1"),
            t(110),
        );
        assert_eq!(
            d,
            vec![Decision {
                platform: "ci".into(),
                outcome: Outcome::FalseNegative,
                truth_delay: Some(50.0)
            }]
        );
        assert!(
            l.observe(
                &verdict(Verdict::Verified, Cause::DigestMatch, "x:1"),
                t(120)
            )
            .is_empty(),
            "judged once"
        );
    }

    #[test]
    fn blocked_at_the_end_of_the_window_is_confirmed_else_unresolved() {
        let mut l = Ledger::new(SignedDuration::from_mins(30));
        l.submit(report(None));
        assert!(
            l.observe(
                &verdict(
                    Verdict::Blocked,
                    Cause::Blocker(crate::engine::events::BlockerReason::ImagePullUnauthorized),
                    "x:1"
                ),
                t(60 + 1799)
            )
            .is_empty()
        );
        let d = l.observe(
            &verdict(
                Verdict::Blocked,
                Cause::Blocker(crate::engine::events::BlockerReason::ImagePullUnauthorized),
                "x:1",
            ),
            t(60 + 1801),
        );
        assert_eq!(d[0].outcome, Outcome::Confirmed);
        let mut l = Ledger::new(SignedDuration::from_mins(30));
        l.submit(report(None));
        let d = l.observe(
            &verdict(Verdict::Converging, Cause::PullingImage, "x:1"),
            t(60 + 1801),
        );
        assert_eq!(d[0].outcome, Outcome::Unresolved);
    }

    #[test]
    fn a_report_naming_an_image_is_contradicted_only_by_that_image() {
        let mut l = Ledger::new(SignedDuration::from_mins(30));
        l.submit(report(Some("registry.example.com/shop/checkout:1.9.0")));
        // last week's version is verified: not a contradiction
        assert!(
            l.observe(
                &verdict(
                    Verdict::Verified,
                    Cause::DigestMatch,
                    "registry.example.com/shop/checkout:1.8.0"
                ),
                t(100)
            )
            .is_empty()
        );
        let d = l.observe(
            &verdict(
                Verdict::Verified,
                Cause::DigestMatch,
                "registry.example.com/shop/checkout:1.9.0",
            ),
            t(200),
        );
        assert_eq!(d[0].outcome, Outcome::FalseNegative);
    }

    #[test]
    fn platform_labels_are_bounded() {
        let mut l = Ledger::new(SignedDuration::from_mins(30));
        for i in 0..25 {
            let p = l.platform_label(&format!("p{i}"));
            assert_eq!(
                p,
                if i < 20 {
                    format!("p{i}")
                } else {
                    OTHER_PLATFORM.to_string()
                }
            );
        }
    }

    #[test]
    fn alerts_become_reports_with_configurable_labels() {
        let a: Alert = serde_json::from_value(serde_json::json!({
            "labels": {"alertname": "PlatformDeploymentFailed", "kubernetes_namespace": "shop", "app": "checkout", "platform": "argo"},
            "startsAt": "2026-11-20T10:01:00Z", "fingerprint": "abc"
        }))
        .unwrap();
        let labels = AlertLabels {
            namespace: "kubernetes_namespace".into(),
            deployment: "app".into(),
            platform: "platform".into(),
        };
        let r = a
            .to_report(&labels, ReportSource::AlertmanagerWebhook)
            .unwrap();
        assert_eq!(
            (
                r.namespace.as_str(),
                r.deployment.as_str(),
                r.platform.as_str()
            ),
            ("shop", "checkout", "argo")
        );
        assert_eq!(
            r.id,
            a.to_report(&labels, ReportSource::AlertmanagerApi)
                .unwrap()
                .id,
            "poll and webhook agree"
        );
        assert_eq!(
            a.to_report(&AlertLabels::default(), ReportSource::Api)
                .unwrap_err(),
            ReportError::Missing("namespace".into())
        );
    }
}
