//! Metrics (DESIGN §8): state metrics rendered at scrape time from the published verdicts (so
//! series of deleted objects disappear), true events as counters, and kube-verdict's own health.
//! Prometheus text 0.0.4 by default; OpenMetrics when the scraper asks for it.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::engine::verdict::Verdict;
use crate::state::Shared;

/// `(label, value)` pairs.
type Labels = Vec<(&'static str, String)>;

/// Counters and histograms of things that happen (everything else is rendered from state).
#[derive(Debug)]
pub struct SelfMetrics {
    /// Watch events by resource and type (`apply`, `delete`, `init`).
    pub watch_events: Family<Labels, Counter>,
    /// Watch restarts (relists) by resource.
    pub watch_restarts: Family<Labels, Counter>,
    /// Source errors by resource and kind of error.
    pub source_errors: Family<Labels, Counter>,
    /// Objects skipped because they did not deserialize or lacked a field, by resource.
    pub skipped_objects: Family<Labels, Counter>,
    /// Build log fetches by result (`ok`, `forbidden`, `gone`, `error`).
    pub log_fetches: Family<Labels, Counter>,
    /// Time from a rollout's start (its new ReplicaSet) to verified/complete.
    pub rollout_duration: Family<Labels, Histogram>,
    /// Platform failure reports received, by platform.
    pub platform_failure_reports: Family<Labels, Counter>,
    /// Reports the cluster contradicted (the deploy worked), by platform.
    pub platform_false_negative: Family<Labels, Counter>,
    /// Reports the cluster confirmed, by platform.
    pub platform_confirmed_failure: Family<Labels, Counter>,
    /// Reports whose window ended undecided, by platform.
    pub platform_unresolved: Family<Labels, Counter>,
    /// Seconds from a false report to the verdict that contradicted it.
    pub platform_truth_delay: Family<Labels, Histogram>,
    /// Requests to the report endpoints, by endpoint and HTTP code.
    pub report_requests: Family<Labels, Counter>,
}

impl Default for SelfMetrics {
    fn default() -> Self {
        SelfMetrics {
            watch_events: Family::default(),
            watch_restarts: Family::default(),
            source_errors: Family::default(),
            skipped_objects: Family::default(),
            log_fetches: Family::default(),
            rollout_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(5.0, 2.0, 10))
            }),
            platform_failure_reports: Family::default(),
            platform_false_negative: Family::default(),
            platform_confirmed_failure: Family::default(),
            platform_unresolved: Family::default(),
            platform_truth_delay: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(5.0, 2.0, 10))
            }),
            report_requests: Family::default(),
        }
    }
}

impl SelfMetrics {
    pub fn count(family: &Family<Labels, Counter>, labels: &[(&'static str, &str)]) {
        let l: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        family.get_or_create(&l).inc();
    }
}

/// Renders the verdict snapshot at scrape time.
#[derive(Debug)]
struct StateCollector(Arc<Shared>);

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: Vec<(Labels, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for StateCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.0.snapshot();
        let mut verdicts = Vec::new();
        let mut digest = Vec::new();
        let mut blockers = Vec::new();
        let mut builds = Vec::new();
        for d in snap.verdicts.values() {
            let base = || -> Labels {
                vec![
                    ("namespace", d.namespace.clone()),
                    ("deployment", d.name.clone()),
                ]
            };
            let mut l = base();
            l.push(("image", d.image.clone()));
            l.push(("verdict", d.verdict.as_str().to_string()));
            l.push(("cause", d.cause.as_str().to_string()));
            l.push(("owner", d.owner.as_str().to_string()));
            verdicts.push((l, 1));
            for c in &d.containers {
                if let (Some(m), Some(_)) = (c.digest_match, &c.build) {
                    let mut l = base();
                    l.push(("container", c.name.clone()));
                    digest.push((l, m as i64));
                }
                if let Some(b) = &c.build
                    && let Some(dg) = &b.digest
                {
                    let mut l = base();
                    l.push(("container", c.name.clone()));
                    l.push(("builder", b.builder.to_string()));
                    l.push(("digest", dg.clone()));
                    builds.push((l, 1));
                }
            }
            // Only the primary reason: summing the series by owner must count each pod once.
            if d.verdict == Verdict::Blocked {
                for b in d.blockers.iter().filter(|b| b.primary) {
                    let mut l = base();
                    l.push(("reason", b.reason.as_str().to_string()));
                    l.push(("owner", b.owner.as_str().to_string()));
                    blockers.push((l, b.pods as i64));
                }
            }
        }
        gauge(
            &mut enc,
            "deploy_verdict",
            "The verdict on a Deployment: 1 for its current verdict, cause and owner; exactly one series per Deployment.",
            verdicts,
        )?;
        gauge(
            &mut enc,
            "deploy_digest_match",
            "1 when every pod of the container runs the digest its build pushed, 0 when not; absent when no build is known.",
            digest,
        )?;
        gauge(
            &mut enc,
            "deploy_scheduling_blocker",
            "Pods of the rollout held by the primary blocker reason (only while the Deployment is blocked).",
            blockers,
        )?;
        gauge(
            &mut enc,
            "deploy_build_info",
            "1 for the build a container is judged against, with its pushed digest.",
            builds,
        )?;
        let objects = snap
            .object_counts
            .iter()
            .map(|(k, n)| (vec![("resource", k.as_str().to_lowercase())], *n as i64))
            .collect();
        gauge(
            &mut enc,
            "kube_verdict_cached_objects",
            "Objects held in the cluster view, by resource.",
            objects,
        )?;
        gauge(
            &mut enc,
            "kube_verdict_synced",
            "1 once every watched resource has been listed; verdicts are unknown/not_synced before.",
            vec![(vec![], snap.synced as i64)],
        )?;
        gauge(
            &mut enc,
            "kube_verdict_source_up",
            "1 while the source (API server or dump) answers; 0 while kube-verdict serves the last known verdicts.",
            vec![(vec![("source", snap.source.clone())], snap.source_up as i64)],
        )?;
        {
            let mut fam = enc.encode_descriptor(
                "kube_verdict_last_judged_timestamp",
                "When the verdicts were last computed (Unix time).",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            ConstGauge::new(snap.now.as_second()).encode(fam.encode_family(&Vec::<(
                &str,
                String,
            )>::new(
            ))?)?;
        }
        gauge(
            &mut enc,
            "kube_verdict_build_info",
            "kube-verdict's version.",
            vec![(vec![("version", env!("CARGO_PKG_VERSION").to_string())], 1)],
        )?;
        Ok(())
    }
}

/// Builds the registry: the state collector and the self-metrics.
pub fn registry(shared: Arc<Shared>) -> Registry {
    let mut r = Registry::default();
    let m = shared.metrics.clone();
    r.register(
        "kube_verdict_watch_events",
        "Watch events received, by resource and type.",
        m.watch_events.clone(),
    );
    r.register(
        "kube_verdict_watch_restarts",
        "Watch (re)lists, by resource.",
        m.watch_restarts.clone(),
    );
    r.register(
        "kube_verdict_source_errors",
        "Errors from the source (API calls, watches), by resource and error.",
        m.source_errors.clone(),
    );
    r.register(
        "kube_verdict_skipped_objects",
        "Objects skipped because they could not be read, by resource.",
        m.skipped_objects.clone(),
    );
    r.register(
        "kube_verdict_log_fetches",
        "Build log fetches, by result.",
        m.log_fetches.clone(),
    );
    r.register_with_unit(
        "deploy_rollout_duration",
        "Time from a rollout's start (its new ReplicaSet's creation) to verified or complete.",
        Unit::Seconds,
        m.rollout_duration.clone(),
    );
    r.register(
        "platform_failure_reports",
        "Platform failure reports received, by platform.",
        m.platform_failure_reports.clone(),
    );
    r.register("platform_false_negative", "Platform failure reports the cluster contradicted: the deployment was verified or complete within the report window.", m.platform_false_negative.clone());
    r.register("platform_confirmed_failure", "Platform failure reports the cluster confirmed: stale, blocked or failed at the end of the window.", m.platform_confirmed_failure.clone());
    r.register(
        "platform_unresolved_reports",
        "Platform failure reports whose window ended with the deployment neither done nor failed.",
        m.platform_unresolved.clone(),
    );
    r.register_with_unit(
        "platform_report_truth_delay",
        "Time from a platform failure report to the verdict that contradicted it.",
        Unit::Seconds,
        m.platform_truth_delay.clone(),
    );
    r.register(
        "kube_verdict_report_requests",
        "Requests to the report endpoints, by endpoint and HTTP code.",
        m.report_requests.clone(),
    );
    r.register_collector(Box::new(StateCollector(shared)));
    r
}

/// The OpenMetrics content type.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders the registry in the format the `Accept` header asks for.
pub fn render(registry: &Registry, accept: Option<&str>) -> (&'static str, String) {
    let mut out = String::new();
    if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, registry);
        (OPENMETRICS, out)
    } else {
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
        (
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            out,
        )
    }
}
