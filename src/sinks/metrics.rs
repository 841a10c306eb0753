//! Metrics (DESIGN §8): state metrics rendered at scrape time from the published verdicts (so
//! series of deleted objects disappear) and kube-verdict's own health. The counters of things
//! that happen belong to the component that counts them (`SourceMetrics`, `ReportMetrics`,
//! `RequestMetrics`, `ControllerMetrics`), each registering itself. Prometheus text 0.0.4 by
//! default; OpenMetrics when the scraper asks for it.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::published::{Published, Snapshot};
use crate::engine::verdict::Verdict;

/// `(label, value)` pairs.
type Labels = Vec<(&'static str, String)>;

/// Renders the verdict snapshot at scrape time.
#[derive(Debug)]
struct StateCollector(Arc<Published>);

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

/// The rows of the four `deploy_*` state gauges.
#[derive(Default)]
struct DeployRows {
    verdicts: Vec<(Labels, i64)>,
    digest: Vec<(Labels, i64)>,
    blockers: Vec<(Labels, i64)>,
    builds: Vec<(Labels, i64)>,
}

fn deploy_rows(snap: &Snapshot) -> DeployRows {
    let (mut verdicts, mut digest, mut blockers, mut builds) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
    DeployRows {
        verdicts,
        digest,
        blockers,
        builds,
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.0.snapshot();
        let DeployRows {
            verdicts,
            digest,
            blockers,
            builds,
        } = deploy_rows(&snap);
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
        encode_health(&mut enc, &snap)
    }
}

/// kube-verdict's own state: cached objects, sync, source health, last judgement, version.
fn encode_health(enc: &mut DescriptorEncoder, snap: &Snapshot) -> Result<(), std::fmt::Error> {
    let objects = snap
        .object_counts
        .iter()
        .map(|(k, n)| (vec![("resource", k.resource().to_string())], *n as i64))
        .collect();
    gauge(
        enc,
        "kube_verdict_cached_objects",
        "Objects held in the cluster view, by resource.",
        objects,
    )?;
    gauge(
        enc,
        "kube_verdict_synced",
        "1 once every watched resource has been listed; verdicts are unknown/not_synced before.",
        vec![(vec![], snap.synced as i64)],
    )?;
    gauge(
        enc,
        "kube_verdict_source_up",
        "1 only while the source answers and every watch of every resource is healthy; 0 while kube-verdict serves verdicts it cannot refresh.",
        vec![(
            vec![("source", snap.source.as_str().to_string())],
            snap.source_up as i64,
        )],
    )?;
    // Live only: a dump has no watches, so it has no series (and no family) here.
    if !snap.watch_health.is_empty() {
        let rows = snap
            .watch_health
            .iter()
            .map(|(k, ok)| (vec![("resource", k.resource().to_string())], *ok as i64))
            .collect();
        gauge(
            enc,
            "kube_verdict_watch_healthy",
            "1 while every watch of the resource is healthy: listed, and no failed list or watch request since.",
            rows,
        )?;
    }
    {
        let mut fam = enc.encode_descriptor(
            "kube_verdict_last_judged_timestamp",
            "When the verdicts were last computed (Unix time).",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        ConstGauge::new(snap.now.as_second())
            .encode(fam.encode_family(&Vec::<(&str, String)>::new())?)?;
    }
    gauge(
        enc,
        "kube_verdict_build_info",
        "kube-verdict's version.",
        vec![(vec![("version", env!("CARGO_PKG_VERSION").to_string())], 1)],
    )?;
    Ok(())
}

/// Registers the collector that renders the published snapshot at scrape time.
pub fn register_state(r: &mut Registry, published: Arc<Published>) {
    r.register_collector(Box::new(StateCollector(published)));
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
