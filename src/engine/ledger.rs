//! Platform failure reports (DESIGN §9): a report says "platform P failed to deploy NS/NAME at T
//! (image I)". Each is judged once against the verdicts that follow it: `false_negative` if the
//! deployment is verified or complete at any time within the window after the report,
//! `confirmed` if it ends the window stale, blocked or failed, otherwise `unresolved`. Pure: the
//! ledger takes verdicts and an explicit `now`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// A new report accepted by [`Ledger::submit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// The report's bounded `platform` label.
    pub platform: String,
    /// True when the ledger was full and its oldest report was forgotten to make room.
    pub evicted: bool,
}

/// How far in the future a report's time may be (clock skew between the platform and the
/// cluster); a nearer future time is read as now, a farther one is rejected.
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Longest `platform` label value; a longer name is counted as [`OTHER_PLATFORM`].
pub const MAX_PLATFORM_LABEL: usize = 63;

/// How many platform names not on the allow-list may keep their own label, first come.
pub const DEFAULT_EXTRA_PLATFORMS: usize = 10;

/// The platform names that keep their own `platform` label value; every other name is
/// counted as [`OTHER_PLATFORM`], so an outsider cannot grow the series count.
#[derive(Debug, Clone)]
pub struct PlatformNames {
    /// Always kept (from `--platforms` and the configured Alertmanager matchers).
    allowed: BTreeSet<String>,
    /// Names first seen at run time, up to `extra`.
    seen: BTreeSet<String>,
    extra: usize,
}

impl PlatformNames {
    /// `allowed` always keep their name; up to `extra` further names (1–63 characters of
    /// `[A-Za-z0-9._-]`, like a Kubernetes label value) keep theirs in the order first seen.
    pub fn new(allowed: impl IntoIterator<Item = String>, extra: usize) -> PlatformNames {
        PlatformNames {
            allowed: allowed.into_iter().collect(),
            seen: BTreeSet::new(),
            extra,
        }
    }

    /// The names that always keep their own label value.
    pub fn allowed(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }

    /// The label value for platform `p`.
    pub fn label(&mut self, p: &str) -> String {
        if self.allowed.contains(p) || self.seen.contains(p) {
            return p.to_string();
        }
        let well_formed = !p.is_empty()
            && p.len() <= MAX_PLATFORM_LABEL
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if well_formed && self.seen.len() < self.extra {
            self.seen.insert(p.to_string());
            return p.to_string();
        }
        OTHER_PLATFORM.to_string()
    }
}

impl Default for PlatformNames {
    fn default() -> Self {
        PlatformNames::new([], DEFAULT_EXTRA_PLATFORMS)
    }
}

/// The reports kept and their outcomes, indexed so that every operation costs the reports it
/// touches, not the whole ledger: a report is judged when it arrives, when its deployment's
/// verdict changes, and when its window ends.
#[derive(Debug)]
pub struct Ledger {
    window: SignedDuration,
    max_reports: usize,
    reports: HashMap<String, TrackedReport>,
    /// Every report by (time, id): eviction takes the oldest, `recent` the newest.
    by_time: BTreeSet<(Timestamp, String)>,
    /// Pending reports by deployment.
    pending: BTreeMap<Key, BTreeSet<String>>,
    /// Pending reports by the end of their window.
    deadlines: BTreeSet<(Timestamp, String)>,
    platforms: PlatformNames,
}

/// The `platform` label value for platforms beyond the bound.
pub const OTHER_PLATFORM: &str = "other";

/// Reports kept at most; the oldest is forgotten (and counted) to make room.
pub const DEFAULT_MAX_REPORTS: usize = 10_000;

fn same_image(a: &str, b: &str) -> bool {
    match (ImageRef::parse(a), ImageRef::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl Ledger {
    /// An empty ledger judging reports over `window`, keeping at most [`DEFAULT_MAX_REPORTS`].
    pub fn new(window: SignedDuration, platforms: PlatformNames) -> Ledger {
        Ledger::with_capacity(window, platforms, DEFAULT_MAX_REPORTS)
    }

    /// An empty ledger keeping at most `max_reports` (at least 1).
    pub fn with_capacity(
        window: SignedDuration,
        platforms: PlatformNames,
        max_reports: usize,
    ) -> Ledger {
        Ledger {
            window,
            max_reports: max_reports.max(1),
            reports: HashMap::new(),
            by_time: BTreeSet::new(),
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            platforms,
        }
    }

    /// Reports held.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// True when no report is held.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// Reports still pending.
    pub fn pending(&self) -> usize {
        self.deadlines.len()
    }

    /// Adds a report received at `now`. `Ok(None)` when it was already known (same id: the same
    /// failure seen twice counts once). A time up to [`MAX_CLOCK_SKEW`] ahead of `now` is read as
    /// `now`; further ahead is [`ReportError::Future`]. When the ledger is full the oldest report
    /// is forgotten (`evicted`). Costs O(log n).
    pub fn submit(
        &mut self,
        mut r: PlatformReport,
        now: Timestamp,
    ) -> Result<Option<Submitted>, ReportError> {
        if r.reported_at > now + MAX_CLOCK_SKEW {
            return Err(ReportError::Future(r.reported_at.to_string()));
        }
        // A report whose window has already ended cannot be decided (the verdicts of that time
        // are gone) and must not count against the platform's figures (a 1970 time, or
        // Alertmanager's zero time `0001-01-01T00:00:00Z`).
        if r.reported_at < now - self.window {
            return Err(ReportError::TooOld(
                r.reported_at.to_string(),
                format!("{:#}", self.window),
            ));
        }
        r.reported_at = r.reported_at.min(now);
        if self.reports.contains_key(&r.id) {
            return Ok(None);
        }
        r.platform = self.platforms.label(&r.platform);
        let mut evicted = false;
        while self.reports.len() >= self.max_reports {
            let Some((_, id)) = self.by_time.first().cloned() else {
                break;
            };
            self.forget(&id);
            evicted = true;
        }
        let platform = r.platform.clone();
        let id = r.id.clone();
        self.by_time.insert((r.reported_at, id.clone()));
        self.deadlines
            .insert((r.reported_at + self.window, id.clone()));
        self.pending
            .entry((r.namespace.clone(), r.deployment.clone()))
            .or_default()
            .insert(id.clone());
        self.reports.insert(
            id,
            TrackedReport {
                report: r,
                outcome: Outcome::Pending,
                decided_at: None,
                verdict: None,
                evidence: vec![],
            },
        );
        Ok(Some(Submitted { platform, evicted }))
    }

    fn forget(&mut self, id: &str) {
        let Some(t) = self.reports.remove(id) else {
            return;
        };
        let r = &t.report;
        self.by_time.remove(&(r.reported_at, r.id.clone()));
        self.unpend(&t);
    }

    fn unpend(&mut self, t: &TrackedReport) {
        let r = &t.report;
        self.deadlines
            .remove(&(r.reported_at + self.window, r.id.clone()));
        let key = (r.namespace.clone(), r.deployment.clone());
        if let Some(ids) = self.pending.get_mut(&key) {
            ids.remove(&r.id);
            if ids.is_empty() {
                self.pending.remove(&key);
            }
        }
    }

    /// Judges at `now` the pending reports of the deployments in `changed` (whose verdict is
    /// new or changed) and every report whose window has ended. Costs the reports it touches.
    pub fn observe_changed<'k>(
        &mut self,
        verdicts: &BTreeMap<Key, std::sync::Arc<DeploymentVerdict>>,
        changed: impl IntoIterator<Item = &'k Key>,
        now: Timestamp,
    ) -> Vec<Decision> {
        let mut ids: Vec<String> = Vec::new();
        for key in changed {
            if let Some(p) = self.pending.get(key) {
                ids.extend(p.iter().cloned());
            }
        }
        ids.extend(
            self.deadlines
                .iter()
                .take_while(|(deadline, _)| *deadline < now)
                .map(|(_, id)| id.clone()),
        );
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            let Some(t) = self.reports.get_mut(&id) else {
                continue;
            };
            let d = verdicts.get(&(t.report.namespace.clone(), t.report.deployment.clone()));
            if let Some(decision) = judge_one(t, d.map(|d| &**d), now, self.window) {
                out.push(decision);
                let t = t.clone();
                self.unpend(&t);
            }
        }
        out
    }

    /// Judges every pending report at `now` (as when the verdicts were all recomputed).
    pub fn observe(
        &mut self,
        verdicts: &BTreeMap<Key, std::sync::Arc<DeploymentVerdict>>,
        now: Timestamp,
    ) -> Vec<Decision> {
        let keys: Vec<Key> = self.pending.keys().cloned().collect();
        self.observe_changed(verdicts, &keys, now)
    }

    /// The most recent reports, newest first. Costs O(limit).
    pub fn recent(&self, limit: usize) -> Vec<TrackedReport> {
        self.by_time
            .iter()
            .rev()
            .take(limit)
            .filter_map(|(_, id)| self.reports.get(id).cloned())
            .collect()
    }
}

/// Judges one pending report against its deployment's verdict `d` (None: not known) at `now`.
fn judge_one(
    t: &mut TrackedReport,
    d: Option<&DeploymentVerdict>,
    now: Timestamp,
    window: SignedDuration,
) -> Option<Decision> {
    let r = &t.report;
    let in_window = now.duration_since(r.reported_at) <= window;
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
            return Some(Decision {
                platform: r.platform.clone(),
                outcome: Outcome::FalseNegative,
                truth_delay: Some(now.duration_since(r.reported_at).as_secs_f64().max(0.0)),
            });
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
    if in_window {
        return None;
    }
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
    t.evidence.push(match d {
        Some(d) => format!(
            "{}/{} ended the window {} ({}, owner {}): {}",
            r.namespace,
            r.deployment,
            d.verdict.as_str(),
            d.cause.as_str(),
            d.owner.as_str(),
            d.summary
        ),
        None => format!(
            "{}/{} is not known to kube-verdict",
            r.namespace, r.deployment
        ),
    });
    Some(Decision {
        platform: r.platform.clone(),
        outcome: t.outcome,
        truth_delay: None,
    })
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
    #[error("time {0} is more than 5 minutes in the future")]
    Future(String),
    #[error("{0} is longer than {1} bytes")]
    TooLong(&'static str, usize),
    #[error(
        "time {0} is older than the report window ({1}): the verdicts of that time are not known"
    )]
    TooOld(String, String),
}

/// Longest accepted field values: Kubernetes' own limits for names, generous ones for the rest.
const FIELD_LIMITS: [(&str, usize); 5] = [
    ("namespace", 63),
    ("deployment", 253),
    ("platform", 253),
    ("image", 4096),
    ("id", 512),
];

impl PlatformReport {
    /// Rejects a report whose fields exceed [`FIELD_LIMITS`] (an outsider must not make the
    /// ledger hold megabytes per report).
    fn bounded(self) -> Result<PlatformReport, ReportError> {
        for (field, max) in FIELD_LIMITS {
            let len = match field {
                "namespace" => self.namespace.len(),
                "deployment" => self.deployment.len(),
                "platform" => self.platform.len(),
                "image" => self.image.as_deref().map_or(0, str::len),
                _ => self.id.len(),
            };
            if len > max {
                return Err(ReportError::TooLong(field, max));
            }
        }
        Ok(self)
    }
}

impl Alert {
    /// The alert as a person finds it in Alertmanager: `alertname` (or `(no alertname)`), then
    /// the fingerprint when Alertmanager sent one, e.g. `PlatformDeployFailed (3f2a9c1b0d4e5f60)`.
    pub fn describe(&self) -> String {
        let name = self
            .labels
            .get("alertname")
            .map_or("(no alertname)", String::as_str);
        match &self.fingerprint {
            Some(f) => format!("{name} ({f})"),
            None => name.to_string(),
        }
    }

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
        PlatformReport {
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
        }
        .bounded()
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
        PlatformReport {
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
        }
        .bounded()
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
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        assert!(l.submit(report(None), t(60)).unwrap().is_some());
        assert!(
            l.submit(report(None), t(61)).unwrap().is_none(),
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
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        l.submit(report(None), t(60)).unwrap();
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
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        l.submit(report(None), t(60)).unwrap();
        let d = l.observe(
            &verdict(Verdict::Converging, Cause::PullingImage, "x:1"),
            t(60 + 1801),
        );
        assert_eq!(d[0].outcome, Outcome::Unresolved);
    }

    #[test]
    fn a_report_naming_an_image_is_contradicted_only_by_that_image() {
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        l.submit(
            report(Some("registry.example.com/shop/checkout:1.9.0")),
            t(60),
        )
        .unwrap();
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
    fn platform_labels_are_bounded_in_number_length_and_characters() {
        let mut names = PlatformNames::new(["argo".to_string()], 3);
        for i in 0..5 {
            let p = names.label(&format!("p{i}"));
            assert_eq!(
                p,
                if i < 3 {
                    format!("p{i}")
                } else {
                    OTHER_PLATFORM.into()
                }
            );
        }
        assert_eq!(names.label("argo"), "argo", "allowed names never run out");
        let mut names = PlatformNames::default();
        assert_eq!(names.label(&"x".repeat(900_000)), OTHER_PLATFORM);
        assert_eq!(names.label("bad name{}"), OTHER_PLATFORM);
        assert_eq!(names.label(""), OTHER_PLATFORM);
        assert_eq!(names.label("ci"), "ci", "junk took no slot");
    }

    fn numbered(i: usize, ns: &str, at: Timestamp) -> PlatformReport {
        PlatformReport {
            id: format!("r{i}"),
            namespace: ns.into(),
            reported_at: at,
            ..report(None)
        }
    }

    #[test]
    fn pending_reports_end_with_their_window_even_for_unknown_deployments() {
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        l.submit(numbered(1, "gone", t(0)), t(0)).unwrap();
        let none = BTreeMap::new();
        assert!(l.observe_changed(&none, [], t(1800)).is_empty());
        assert_eq!(l.pending(), 1);
        let d = l.observe_changed(&none, [], t(1801));
        assert_eq!(d[0].outcome, Outcome::Unresolved);
        assert_eq!(l.pending(), 0);
        assert_eq!(l.len(), 1, "decided reports stay listed until evicted");
    }

    #[test]
    fn far_future_times_are_rejected_and_near_ones_read_as_now() {
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        let err = l.submit(numbered(1, "shop", t(3600)), t(0)).unwrap_err();
        assert!(matches!(err, ReportError::Future(_)), "{err}");
        l.submit(numbered(2, "shop", t(120)), t(0)).unwrap();
        // Already verified when it arrives: contradicted at once, not 2 minutes later.
        let d = l.observe(&verdict(Verdict::Verified, Cause::DigestMatch, "x:1"), t(0));
        assert_eq!(d[0].outcome, Outcome::FalseNegative);
        assert_eq!(d[0].truth_delay, Some(0.0));
    }

    /// A report older than its window (a 1970 time, Alertmanager's zero time) cannot be
    /// decided and is refused, never counted; one inside the window is taken.
    #[test]
    fn times_older_than_the_window_are_rejected() {
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        let err = l.submit(numbered(1, "shop", t(0)), t(3600)).unwrap_err();
        assert!(matches!(err, ReportError::TooOld(..)), "{err}");
        assert!(
            err.to_string()
                .contains("older than the report window (30m)"),
            "{err}"
        );
        assert!(l.is_empty());
        l.submit(numbered(2, "shop", t(3600 - 1700)), t(3600))
            .unwrap();
        assert_eq!(l.pending(), 1);
    }

    #[test]
    fn a_full_ledger_forgets_its_oldest_report_pending_or_not() {
        let mut l =
            Ledger::with_capacity(SignedDuration::from_mins(30), PlatformNames::default(), 3);
        for i in 0..3 {
            let s = l
                .submit(numbered(i, "gone", t(i as i64)), t(10))
                .unwrap()
                .unwrap();
            assert!(!s.evicted);
        }
        let s = l.submit(numbered(3, "gone", t(5)), t(10)).unwrap().unwrap();
        assert!(s.evicted);
        assert_eq!((l.len(), l.pending()), (3, 3));
        let ids: Vec<String> = l.recent(10).into_iter().map(|r| r.report.id).collect();
        assert_eq!(ids, ["r3", "r2", "r1"], "r0, the oldest, was forgotten");
    }

    #[test]
    fn only_reports_of_changed_deployments_are_judged() {
        let mut l = Ledger::new(SignedDuration::from_mins(30), PlatformNames::default());
        l.submit(numbered(1, "shop", t(0)), t(0)).unwrap();
        l.submit(numbered(2, "other", t(0)), t(0)).unwrap();
        let verified = verdict(Verdict::Verified, Cause::DigestMatch, "x:1");
        let other: Key = ("other".into(), "checkout".into());
        assert!(l.observe_changed(&verified, [&other], t(10)).is_empty());
        assert_eq!(l.pending(), 2, "shop/checkout did not change: not judged");
        let shop: Key = ("shop".into(), "checkout".into());
        let d = l.observe_changed(&verified, [&shop], t(10));
        assert_eq!(d.len(), 1);
        assert_eq!(l.pending(), 1);
    }

    #[test]
    fn oversized_fields_are_rejected() {
        let body = ReportBody {
            platform: "ci".into(),
            namespace: "n".repeat(64),
            deployment: "d".into(),
            image: None,
            time: None,
            id: None,
        };
        assert_eq!(
            body.to_report(t(0)).unwrap_err(),
            ReportError::TooLong("namespace", 63)
        );
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
