//! Kubernetes objects as the view decodes them: only the fields its projections read, strings
//! borrowed from the input where they have no escapes. Pods and core/v1 Events are most of
//! what a cluster lists (five or more events per pod), and typing all of them into k8s-openapi
//! structs (an `ObjectMeta` with labels, annotations and managedFields; a pod's volumes,
//! probes, resources, tolerations, ...) to keep a few fields was most of the CPU of a sync and
//! left its garbage spread over the heap.
//!
//! The field names and types are those of the Kubernetes API (core/v1 `Pod` and `Event`,
//! meta/v1 `ObjectMeta`), and every field read here is read as k8s-openapi 0.29 reads it:
//! objects only (an array is an error, not fields by position), the last of duplicate keys
//! winning, a missing or null field its default (k8s-openapi defaults required fields too),
//! `apiVersion` and `kind` checked when present, times RFC 3339, errors naming the Kubernetes
//! type (`expected ObjectReference`). Fields not read here are skipped unchecked, so an object
//! whose unread fields have the wrong type is read where k8s-openapi would refuse it: the API
//! server validates them, and nothing here depends on them.
//!
//! The projections ([`super::view`]) turn these into the view's types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, Unexpected, Visitor};

/// A JSON string, borrowed from the input when it has no escapes.
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The text of an optional string field, empty when it is missing or null.
pub(crate) fn text<'b>(s: &'b Option<Text<'_>>) -> &'b str {
    s.as_ref().map(|t| &*t.0).unwrap_or_default()
}

/// The items of an optional list field, none when it is missing or null.
pub(crate) fn list<T>(l: &Option<Vec<T>>) -> &[T] {
    l.as_deref().unwrap_or_default()
}

/// A JSON object read key by key, as k8s-openapi's types read theirs: an object only (an array
/// is an error, not fields by position), the last of duplicate keys winning, keys not read
/// skipped.
trait WireObject<'de>: Default {
    /// The Kubernetes type's name, for errors (`invalid type: sequence, expected EventSeries`).
    const EXPECTING: &'static str;

    /// Reads the value of `key` into `self`; false for a key it does not read (then skipped).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

fn read_object<'de, D: Deserializer<'de>, T: WireObject<'de>>(d: D) -> Result<T, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: WireObject<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(T::EXPECTING)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut t = T::default();
            while let Some(key) = map.next_key::<Text<'de>>()? {
                if !t.field(&key.0, &mut map)? {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(t)
        }
    }
    d.deserialize_map(V(std::marker::PhantomData))
}

/// `apiVersion` or `kind`: a string (not null), equal to `expected` (k8s-openapi's check).
fn read_type<'de, A: MapAccess<'de>>(map: &mut A, expected: &'static str) -> Result<(), A::Error> {
    let v: Text<'de> = map.next_value()?;
    if v.0 != expected {
        return Err(A::Error::invalid_value(Unexpected::Str(&v.0), &expected));
    }
    Ok(())
}

/// Implements `Deserialize` for a wire struct through [`WireObject`]: `$name` is the Kubernetes
/// type's name, `$body` reads one key (returning `Ok(false)` for a key it does not read).
macro_rules! wire_object {
    ($ty:ident $(<$l:lifetime>)?, $name:literal, |$this:ident, $key:ident, $map:ident| $body:expr) => {
        impl<'de> Deserialize<'de> for $ty $(<$l>)? {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                read_object(d)
            }
        }
        impl<'de> WireObject<'de> for $ty $(<$l>)? {
            const EXPECTING: &'static str = $name;
            fn field<A: MapAccess<'de>>(
                &mut self,
                $key: &str,
                $map: &mut A,
            ) -> Result<bool, A::Error> {
                let $this = self;
                $body
            }
        }
    };
}

/// The body of a [`WireObject::field`]: reads each listed key into its field (`"key" => field`),
/// returns false for any other key.
macro_rules! fields {
    ($this:ident, $key:ident, $map:ident; $($k:literal => $f:ident),* $(,)?) => {{
        match $key {
            $($k => $this.$f = $map.next_value()?,)*
            _ => return Ok(false),
        }
        Ok(true)
    }};
}

/// `metadata` of a pod (meta/v1 `ObjectMeta`): what [`super::view::Meta`] keeps, the
/// resourceVersion and the `pod-template-hash` label.
#[derive(Default)]
pub(crate) struct MetaWire<'a> {
    pub name: Option<Text<'a>>,
    pub namespace: Option<Text<'a>>,
    pub uid: Option<Text<'a>>,
    pub creation_timestamp: Option<Time>,
    pub deletion_timestamp: Option<Time>,
    pub resource_version: Option<Text<'a>>,
    pub owner_references: Option<Vec<OwnerWire<'a>>>,
    pub labels: Option<TemplateHash<'a>>,
}

wire_object!(MetaWire<'de>, "ObjectMeta", |m, key, map| {
    fields!(m, key, map;
        "name" => name,
        "namespace" => namespace,
        "uid" => uid,
        "creationTimestamp" => creation_timestamp,
        "deletionTimestamp" => deletion_timestamp,
        "resourceVersion" => resource_version,
        "ownerReferences" => owner_references,
        "labels" => labels,
    )
});

/// An `ownerReferences` item (meta/v1 `OwnerReference`).
#[derive(Default)]
pub(crate) struct OwnerWire<'a> {
    pub kind: Option<Text<'a>>,
    pub name: Option<Text<'a>>,
    pub uid: Option<Text<'a>>,
}

wire_object!(OwnerWire<'de>, "OwnerReference", |o, key, map| {
    fields!(o, key, map; "kind" => kind, "name" => name, "uid" => uid)
});

/// `metadata.labels`, of which the view keeps `pod-template-hash` (the last one, as a map
/// keeps the last of duplicate keys). Every value must be a string, as for k8s-openapi's
/// `BTreeMap<String, String>`.
pub(crate) struct TemplateHash<'a>(pub Option<Text<'a>>);

impl<'de> Deserialize<'de> for TemplateHash<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TemplateHash<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut hash = None;
                while let Some((k, v)) = map.next_entry::<Text<'de>, Text<'de>>()? {
                    if k.0 == "pod-template-hash" {
                        hash = Some(v);
                    }
                }
                Ok(TemplateHash(hash))
            }
        }
        d.deserialize_map(V)
    }
}

/// `metadata` of an [`EventWire`]: only what the event projection reads, so that an event's
/// labels, owner references or uid (read for pods) are skipped unchecked, as every other field
/// the projection does not read.
#[derive(Default)]
pub(crate) struct EventMetaWire<'a> {
    pub name: Option<Text<'a>>,
    pub namespace: Option<Text<'a>>,
    pub creation_timestamp: Option<Time>,
    pub resource_version: Option<Text<'a>>,
}

wire_object!(EventMetaWire<'de>, "ObjectMeta", |m, key, map| {
    fields!(m, key, map;
        "name" => name,
        "namespace" => namespace,
        "creationTimestamp" => creation_timestamp,
        "resourceVersion" => resource_version,
    )
});

/// A core/v1 `Event`.
#[derive(Default)]
pub(crate) struct EventWire<'a> {
    pub metadata: Option<EventMetaWire<'a>>,
    pub involved_object: Option<InvolvedWire<'a>>,
    pub reason: Option<Text<'a>>,
    pub message: Option<Text<'a>>,
    pub type_: Option<Text<'a>>,
    pub reporting_component: Option<Text<'a>>,
    pub source: Option<SourceWire<'a>>,
    pub event_time: Option<MicroTime>,
    pub first_timestamp: Option<Time>,
    pub last_timestamp: Option<Time>,
    pub count: Option<i32>,
    pub series: Option<SeriesWire>,
}

wire_object!(EventWire<'de>, "Event", |e, key, map| {
    match key {
        "apiVersion" => read_type(map, "v1").map(|_| true),
        "kind" => read_type(map, "Event").map(|_| true),
        _ => fields!(e, key, map;
            "metadata" => metadata,
            "involvedObject" => involved_object,
            "reason" => reason,
            "message" => message,
            "type" => type_,
            "reportingComponent" => reporting_component,
            "source" => source,
            "eventTime" => event_time,
            "firstTimestamp" => first_timestamp,
            "lastTimestamp" => last_timestamp,
            "count" => count,
            "series" => series,
        ),
    }
});

/// `involvedObject` of an [`EventWire`] (core/v1 `ObjectReference`).
#[derive(Default)]
pub(crate) struct InvolvedWire<'a> {
    pub kind: Option<Text<'a>>,
    pub name: Option<Text<'a>>,
}

wire_object!(InvolvedWire<'de>, "ObjectReference", |o, key, map| {
    fields!(o, key, map; "kind" => kind, "name" => name)
});

/// `source` of an [`EventWire`] (core/v1 `EventSource`).
#[derive(Default)]
pub(crate) struct SourceWire<'a> {
    pub component: Option<Text<'a>>,
}

wire_object!(SourceWire<'de>, "EventSource", |o, key, map| {
    fields!(o, key, map; "component" => component)
});

/// `series` of an [`EventWire`] (core/v1 `EventSeries`).
#[derive(Default)]
pub(crate) struct SeriesWire {
    pub count: Option<i32>,
    pub last_observed_time: Option<MicroTime>,
}

wire_object!(SeriesWire, "EventSeries", |o, key, map| {
    fields!(o, key, map; "count" => count, "lastObservedTime" => last_observed_time)
});

/// An events.k8s.io/v1 `Event` (`kubectl get events.v1.events.k8s.io -o json`): the fields of a
/// core/v1 Event under their new names.
#[derive(Default)]
pub(crate) struct EventV1Wire<'a> {
    pub metadata: Option<EventMetaWire<'a>>,
    pub regarding: Option<InvolvedWire<'a>>,
    pub reason: Option<Text<'a>>,
    pub note: Option<Text<'a>>,
    pub type_: Option<Text<'a>>,
    pub reporting_controller: Option<Text<'a>>,
    pub deprecated_source: Option<SourceWire<'a>>,
    pub event_time: Option<MicroTime>,
    pub deprecated_first_timestamp: Option<Time>,
    pub deprecated_last_timestamp: Option<Time>,
    pub deprecated_count: Option<i32>,
    pub series: Option<SeriesV1Wire>,
}

wire_object!(EventV1Wire<'de>, "Event", |e, key, map| {
    match key {
        "apiVersion" => read_type(map, "events.k8s.io/v1").map(|_| true),
        "kind" => read_type(map, "Event").map(|_| true),
        _ => fields!(e, key, map;
            "metadata" => metadata,
            "regarding" => regarding,
            "reason" => reason,
            "note" => note,
            "type" => type_,
            "reportingController" => reporting_controller,
            "deprecatedSource" => deprecated_source,
            "eventTime" => event_time,
            "deprecatedFirstTimestamp" => deprecated_first_timestamp,
            "deprecatedLastTimestamp" => deprecated_last_timestamp,
            "deprecatedCount" => deprecated_count,
            "series" => series,
        ),
    }
});

/// `series` of an [`EventV1Wire`] (events.k8s.io/v1 `EventSeries`): `lastObservedTime` is
/// required there (k8s-openapi refuses a series without it, or with it null). A null one is
/// refused here; a missing one by the projection (`EventInfo::from_v1_wire`), the one field
/// of this module whose absence is an error.
#[derive(Default)]
pub(crate) struct SeriesV1Wire {
    pub count: Option<i32>,
    pub last_observed_time: Option<MicroTime>,
}

wire_object!(SeriesV1Wire, "EventSeries", |o, key, map| {
    match key {
        "count" => o.count = map.next_value()?,
        "lastObservedTime" => o.last_observed_time = Some(map.next_value::<MicroTime>()?),
        _ => return Ok(false),
    }
    Ok(true)
});

/// A core/v1 `Pod`.
#[derive(Default)]
pub(crate) struct PodWire<'a> {
    pub metadata: Option<MetaWire<'a>>,
    pub spec: Option<PodSpecWire<'a>>,
    pub status: Option<PodStatusWire<'a>>,
}

wire_object!(PodWire<'de>, "Pod", |p, key, map| {
    match key {
        "apiVersion" => read_type(map, "v1").map(|_| true),
        "kind" => read_type(map, "Pod").map(|_| true),
        _ => fields!(p, key, map; "metadata" => metadata, "spec" => spec, "status" => status),
    }
});

/// `spec` of a [`PodWire`] (core/v1 `PodSpec`). The node selector and the affinity are rare
/// and small, and read into k8s-openapi's types.
#[derive(Default)]
pub(crate) struct PodSpecWire<'a> {
    pub node_name: Option<Text<'a>>,
    pub containers: Option<Vec<ContainerWire<'a>>>,
    pub init_containers: Option<Vec<ContainerWire<'a>>>,
    pub image_pull_secrets: Option<Vec<NameWire<'a>>>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub affinity: Option<core::Affinity>,
}

wire_object!(PodSpecWire<'de>, "PodSpec", |s, key, map| {
    fields!(s, key, map;
        "nodeName" => node_name,
        "containers" => containers,
        "initContainers" => init_containers,
        "imagePullSecrets" => image_pull_secrets,
        "nodeSelector" => node_selector,
        "affinity" => affinity,
    )
});

/// A container of a [`PodSpecWire`] (core/v1 `Container`).
#[derive(Default)]
pub(crate) struct ContainerWire<'a> {
    pub name: Option<Text<'a>>,
    pub image: Option<Text<'a>>,
    pub command: Option<Vec<Text<'a>>>,
    pub args: Option<Vec<Text<'a>>>,
    pub env: Option<Vec<EnvWire<'a>>>,
}

wire_object!(ContainerWire<'de>, "Container", |c, key, map| {
    fields!(c, key, map;
        "name" => name,
        "image" => image,
        "command" => command,
        "args" => args,
        "env" => env,
    )
});

/// An `env` item of a [`ContainerWire`] (core/v1 `EnvVar`; `valueFrom` is not read).
#[derive(Default)]
pub(crate) struct EnvWire<'a> {
    pub name: Option<Text<'a>>,
    pub value: Option<Text<'a>>,
}

wire_object!(EnvWire<'de>, "EnvVar", |e, key, map| {
    fields!(e, key, map; "name" => name, "value" => value)
});

/// An `imagePullSecrets` item (core/v1 `LocalObjectReference`).
#[derive(Default)]
pub(crate) struct NameWire<'a> {
    pub name: Option<Text<'a>>,
}

wire_object!(NameWire<'de>, "LocalObjectReference", |n, key, map| {
    fields!(n, key, map; "name" => name)
});

/// `status` of a [`PodWire`] (core/v1 `PodStatus`).
#[derive(Default)]
pub(crate) struct PodStatusWire<'a> {
    pub phase: Option<Text<'a>>,
    pub reason: Option<Text<'a>>,
    pub message: Option<Text<'a>>,
    pub start_time: Option<Time>,
    pub conditions: Option<Vec<ConditionWire<'a>>>,
    pub container_statuses: Option<Vec<StatusWire<'a>>>,
    pub init_container_statuses: Option<Vec<StatusWire<'a>>>,
}

wire_object!(PodStatusWire<'de>, "PodStatus", |s, key, map| {
    fields!(s, key, map;
        "phase" => phase,
        "reason" => reason,
        "message" => message,
        "startTime" => start_time,
        "conditions" => conditions,
        "containerStatuses" => container_statuses,
        "initContainerStatuses" => init_container_statuses,
    )
});

/// A pod condition (core/v1 `PodCondition`).
#[derive(Default)]
pub(crate) struct ConditionWire<'a> {
    pub type_: Option<Text<'a>>,
    pub status: Option<Text<'a>>,
    pub reason: Option<Text<'a>>,
    pub message: Option<Text<'a>>,
    pub last_transition_time: Option<Time>,
    pub last_probe_time: Option<Time>,
}

wire_object!(ConditionWire<'de>, "PodCondition", |c, key, map| {
    fields!(c, key, map;
        "type" => type_,
        "status" => status,
        "reason" => reason,
        "message" => message,
        "lastTransitionTime" => last_transition_time,
        "lastProbeTime" => last_probe_time,
    )
});

/// A container status (core/v1 `ContainerStatus`).
#[derive(Default)]
pub(crate) struct StatusWire<'a> {
    pub name: Option<Text<'a>>,
    pub image_id: Option<Text<'a>>,
    pub ready: Option<bool>,
    pub restart_count: Option<i32>,
    pub state: Option<StateWire<'a>>,
    pub last_state: Option<StateWire<'a>>,
}

wire_object!(StatusWire<'de>, "ContainerStatus", |s, key, map| {
    fields!(s, key, map;
        "name" => name,
        "imageID" => image_id,
        "ready" => ready,
        "restartCount" => restart_count,
        "state" => state,
        "lastState" => last_state,
    )
});

/// `state` or `lastState` of a [`StatusWire`] (core/v1 `ContainerState`).
#[derive(Default)]
pub(crate) struct StateWire<'a> {
    pub waiting: Option<WaitingWire<'a>>,
    pub running: Option<RunningWire>,
    pub terminated: Option<TerminatedWire<'a>>,
}

wire_object!(StateWire<'de>, "ContainerState", |s, key, map| {
    fields!(s, key, map; "waiting" => waiting, "running" => running, "terminated" => terminated)
});

/// core/v1 `ContainerStateWaiting`.
#[derive(Default)]
pub(crate) struct WaitingWire<'a> {
    pub reason: Option<Text<'a>>,
    pub message: Option<Text<'a>>,
}

wire_object!(WaitingWire<'de>, "ContainerStateWaiting", |w, key, map| {
    fields!(w, key, map; "reason" => reason, "message" => message)
});

/// core/v1 `ContainerStateRunning`.
#[derive(Default)]
pub(crate) struct RunningWire {
    pub started_at: Option<Time>,
}

wire_object!(RunningWire, "ContainerStateRunning", |r, key, map| {
    fields!(r, key, map; "startedAt" => started_at)
});

/// core/v1 `ContainerStateTerminated`.
#[derive(Default)]
pub(crate) struct TerminatedWire<'a> {
    pub exit_code: Option<i32>,
    pub reason: Option<Text<'a>>,
    pub message: Option<Text<'a>>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
}

wire_object!(
    TerminatedWire<'de>,
    "ContainerStateTerminated",
    |t, key, map| {
        fields!(t, key, map;
            "exitCode" => exit_code,
            "reason" => reason,
            "message" => message,
            "startedAt" => started_at,
            "finishedAt" => finished_at,
        )
    }
);
