//! Sources: turn the outside world into [`SourceEvent`]s for the controller loop: a cluster (an
//! offline dump, or the live API) becomes `Change`s, Alertmanager's platform alerts become
//! platform reports. Sources never name a sink or the wiring (`tests/layers.rs` checks it).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::engine::ledger::PlatformReport;
use crate::engine::view::{Change, Kind, ProjectionError};

pub mod alertmanager;
pub mod dump;
pub mod live;
pub mod logs;
pub mod registry;

/// What a source tells the controller loop.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "events are moved once through a channel; boxing would cost an allocation per object"
)]
pub enum SourceEvent {
    /// A change to apply to the cluster view.
    Change(Change),
    /// A platform failure report (polled from Alertmanager) to record and judge.
    Report(PlatformReport),
    /// A watch (a kind, in one namespace or everywhere) completed a list (`error: None`: it is
    /// healthy), or failed (it is unhealthy until its next completed list). The last verdicts
    /// stay served meanwhile.
    WatchHealth {
        kind: Kind,
        namespace: Option<String>,
        error: Option<String>,
    },
    /// The API server answered the `/version` probe.
    Up,
    /// The `/version` probe failed or timed out. `what` is `version`.
    Down { what: String, error: String },
    /// A watched object that could not be read, skipped (and counted in
    /// `kube_verdict_skipped_objects_total`): named in `check`'s warnings.
    Skipped(ProjectionError),
}

/// A bounded label value: an enum whose `as_str()` is what the exposition shows.
macro_rules! label_values {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, so the counters can start at 0 for each.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    };
}

label_values!(
    /// The `type` of `kube_verdict_watch_events`.
    WatchEventType {
        Apply => "apply",
        Delete => "delete",
    }
);

label_values!(
    /// The step that failed, the `error` of `kube_verdict_source_errors`.
    SourceErrorStep {
        /// The (re)list.
        List => "list",
        /// The watch request.
        WatchStart => "watch_start",
        /// An ERROR event inside the watch stream.
        WatchError => "watch_error",
        /// The watch stream broke.
        Watch => "watch",
        /// An object without a resourceVersion.
        NoResourceVersion => "no_resource_version",
        /// Polling Alertmanager.
        Poll => "poll",
    }
);

label_values!(
    /// The `result` of `kube_verdict_log_fetches`.
    LogFetchResult {
        Ok => "ok",
        /// 403: no `pods/log` RBAC.
        Forbidden => "forbidden",
        /// 404/400: the pod or container is gone.
        Gone => "gone",
        /// Transient failures past the retries.
        Error => "error",
        /// One more try after a transient failure.
        Retry => "retry",
    }
);

label_values!(
    /// The `result` of `kube_verdict_registry_requests` (DESIGN §7).
    RegistryRequestResult {
        Ok => "ok",
        /// 401/403.
        Unauthorized => "unauthorized",
        /// 404: the tag or repository does not exist.
        NotFound => "not_found",
        /// 429.
        RateLimited => "rate_limited",
        /// Network, TLS, timeout, 5xx, a malformed answer.
        Error => "error",
    }
);

label_values!(
    /// Why a watch listed again, the `reason` of `kube_verdict_watch_restarts`.
    RestartReason {
        /// The first list after start.
        Initial => "initial",
        /// The list or watch request failed (5xx, 429, network, a broken stream).
        Error => "error",
        /// The resourceVersion is gone or ahead of the server (410 in any form, "Too large
        /// resource version" after an etcd restore): listed again at once.
        Expired => "expired",
        /// No byte for longer than the watch timeout plus half (a hung list or a half-open
        /// watch): the read timed out.
        Stalled => "stalled",
        /// The `/version` probe saw the API server answer again after an outage.
        Recovered => "recovered",
    }
);

/// Labels of `kube_verdict_watch_restarts`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RestartLabels {
    pub resource: &'static str,
    pub reason: RestartReason,
}

/// Labels of `kube_verdict_watch_events`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchEventLabels {
    /// The resource, as [`crate::engine::view::Kind::resource`] names it.
    pub resource: &'static str,
    pub r#type: WatchEventType,
}

/// Labels of the per-resource counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: &'static str,
}

/// Labels of `kube_verdict_source_errors`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceErrorLabels {
    /// A resource, or `alertmanager`.
    pub resource: &'static str,
    pub error: SourceErrorStep,
}

/// Labels of `kube_verdict_log_fetches`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LogFetchLabels {
    pub result: LogFetchResult,
}

/// Labels of `kube_verdict_registry_requests`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegistryRequestLabels {
    pub result: RegistryRequestResult,
}

/// The counters the sources keep (things that happen; state is rendered at scrape time).
#[derive(Debug, Clone, Default)]
pub struct SourceMetrics {
    /// Watch events by resource and type.
    pub watch_events: Family<WatchEventLabels, Counter>,
    /// Watch (re)lists by resource and reason.
    pub watch_restarts: Family<RestartLabels, Counter>,
    /// Source errors by resource and failed step.
    pub source_errors: Family<SourceErrorLabels, Counter>,
    /// Objects skipped because they did not deserialize or lacked a field, by resource.
    pub skipped_objects: Family<ResourceLabels, Counter>,
    /// Build log fetches by result.
    pub log_fetches: Family<LogFetchLabels, Counter>,
    /// Registry requests (tag lookups, manifest and config reads) by result.
    pub registry_requests: Family<RegistryRequestLabels, Counter>,
}

impl SourceMetrics {
    /// Creates the counters and registers them in `r`.
    pub fn register(r: &mut Registry) -> SourceMetrics {
        let m = SourceMetrics::default();
        r.register(
            "kube_verdict_watch_events",
            "Watch events received, by resource and type",
            m.watch_events.clone(),
        );
        r.register(
            "kube_verdict_watch_restarts",
            "Watch (re)lists, by resource and reason",
            m.watch_restarts.clone(),
        );
        r.register(
            "kube_verdict_source_errors",
            "Errors from the source (API calls, watches), by resource and error",
            m.source_errors.clone(),
        );
        r.register(
            "kube_verdict_skipped_objects",
            "Objects skipped because they could not be read, by resource",
            m.skipped_objects.clone(),
        );
        r.register(
            "kube_verdict_log_fetches",
            "Build log fetches, by result",
            m.log_fetches.clone(),
        );
        r.register(
            "kube_verdict_registry_requests",
            "Registry requests (tag lookups by HEAD, manifest and config reads), by result",
            m.registry_requests.clone(),
        );
        m.start_at_zero();
        m
    }

    /// Every bounded label set starts at 0, so dashboards and `increase()` see no gap before
    /// the first event.
    fn start_at_zero(&self) {
        for kind in Kind::ALL {
            let resource = kind.resource();
            for &r#type in WatchEventType::ALL {
                let _ = self
                    .watch_events
                    .get_or_create(&WatchEventLabels { resource, r#type });
            }
            for &reason in RestartReason::ALL {
                let _ = self
                    .watch_restarts
                    .get_or_create(&RestartLabels { resource, reason });
            }
            for &error in SourceErrorStep::ALL {
                if error != SourceErrorStep::Poll {
                    let _ = self
                        .source_errors
                        .get_or_create(&SourceErrorLabels { resource, error });
                }
            }
            let _ = self
                .skipped_objects
                .get_or_create(&ResourceLabels { resource });
        }
        let _ = self.source_errors.get_or_create(&SourceErrorLabels {
            resource: "alertmanager",
            error: SourceErrorStep::Poll,
        });
        for &result in LogFetchResult::ALL {
            let _ = self.log_fetches.get_or_create(&LogFetchLabels { result });
        }
        for &result in RegistryRequestResult::ALL {
            let _ = self
                .registry_requests
                .get_or_create(&RegistryRequestLabels { result });
        }
    }
}
