//! Event and condition messages -> blocker reasons: takes scheduler, kubelet, controller and
//! autoscaler messages (Kubernetes 1.23 to 1.35 wordings), returns bounded `BlockerReason`s with
//! node counts and the primary reason of DESIGN §6.

use serde::Serialize;

use super::view::{NodeInfo, Taint};

/// Who acts on a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Application,
    Platform,
    Infrastructure,
    /// Nobody: verified, complete, converging, unknown.
    None,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Application => "application",
            Owner::Platform => "platform",
            Owner::Infrastructure => "infrastructure",
            Owner::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Owner> {
        Some(match s {
            "application" => Owner::Application,
            "platform" => Owner::Platform,
            "infrastructure" => Owner::Infrastructure,
            "none" => Owner::None,
            _ => return None,
        })
    }
}

macro_rules! reasons {
    ($( $(#[$doc:meta])* $var:ident = $s:literal => $owner:ident ),* $(,)?) => {
        /// Why pods cannot start (DESIGN §6). Bounded: unknown messages map to `Other`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum BlockerReason { $( $(#[$doc])* $var ),* }

        impl BlockerReason {
            /// Every reason, in the order of DESIGN §6.
            pub const ALL: &'static [BlockerReason] = &[$(BlockerReason::$var),*];

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self { $(BlockerReason::$var => $s),* }
            }

            /// The default owner of DESIGN §6 (overridable with `--owners`).
            pub fn default_owner(self) -> Owner {
                match self { $(BlockerReason::$var => Owner::$owner),* }
            }

            pub fn parse(s: &str) -> Option<BlockerReason> {
                match s { $($s => Some(BlockerReason::$var),)* _ => None }
            }
        }
    };
}

reasons! {
    /// `Insufficient cpu`.
    InsufficientCpu = "insufficient_cpu" => Infrastructure,
    /// `Insufficient memory`.
    InsufficientMemory = "insufficient_memory" => Infrastructure,
    /// `Insufficient ephemeral-storage`.
    InsufficientEphemeralStorage = "insufficient_ephemeral_storage" => Infrastructure,
    /// `Insufficient nvidia.com/gpu` and other extended resources.
    InsufficientResource = "insufficient_resource" => Infrastructure,
    /// `Too many pods`.
    TooManyPods = "too_many_pods" => Infrastructure,
    /// Cordoned or NotReady nodes (`node(s) were unschedulable`, node-condition taints).
    NodesUnschedulable = "nodes_unschedulable" => Infrastructure,
    /// The pod's volumes are pinned to other nodes or zones.
    VolumeNodeAffinityConflict = "volume_node_affinity_conflict" => Infrastructure,
    /// A PersistentVolumeClaim is not bound.
    UnboundPvc = "unbound_pvc" => Infrastructure,
    /// The CNI plugin could not set up the pod network (IP exhaustion, agent down).
    SandboxCreationFailed = "sandbox_creation_failed" => Infrastructure,
    /// A volume could not be attached or mounted.
    VolumeMountFailed = "volume_mount_failed" => Infrastructure,
    /// The registry could not be reached (timeout, DNS, TLS).
    ImagePullNetwork = "image_pull_network" => Infrastructure,
    /// Nodes carry a taint the pod does not tolerate.
    UntoleratedTaint = "untolerated_taint" => Platform,
    /// The registry refused the credentials (401, 403, pull access denied).
    ImagePullUnauthorized = "image_pull_unauthorized" => Platform,
    /// The registry rate-limited the pull (429, toomanyrequests).
    ImagePullRateLimited = "image_pull_rate_limited" => Platform,
    /// A ResourceQuota refused the pods.
    QuotaExceeded = "quota_exceeded" => Platform,
    /// An admission webhook or PodSecurity refused the pods.
    AdmissionDenied = "admission_denied" => Platform,
    /// No node matches the pod's node selector or affinity.
    NodeAffinityMismatch = "node_affinity_mismatch" => Application,
    /// No node satisfies the pod's pod-affinity rules.
    PodAffinityMismatch = "pod_affinity_mismatch" => Application,
    /// Anti-affinity leaves no node for another replica.
    PodAntiAffinityConflict = "pod_anti_affinity_conflict" => Application,
    /// Topology spread constraints leave no node.
    TopologySpreadMismatch = "topology_spread_mismatch" => Application,
    /// The requested host ports are taken on every node.
    NoFreePorts = "no_free_ports" => Application,
    /// The image or tag does not exist.
    ImageNotFound = "image_not_found" => Application,
    /// The image reference is malformed.
    InvalidImageName = "invalid_image_name" => Application,
    /// Anything else.
    Other = "other" => Platform,
}

impl BlockerReason {
    /// Capacity reasons: more or bigger nodes would let the pod schedule.
    pub fn is_capacity(self) -> bool {
        matches!(
            self,
            BlockerReason::InsufficientCpu
                | BlockerReason::InsufficientMemory
                | BlockerReason::InsufficientEphemeralStorage
                | BlockerReason::InsufficientResource
                | BlockerReason::TooManyPods
        )
    }

    /// Placement exclusions that are usually background: nodes kept away by taints, node
    /// affinity, or being cordoned/NotReady.
    pub fn is_background_exclusion(self) -> bool {
        matches!(
            self,
            BlockerReason::UntoleratedTaint
                | BlockerReason::NodeAffinityMismatch
                | BlockerReason::NodesUnschedulable
        )
    }
}

/// One reason of a FailedScheduling histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    pub reason: BlockerReason,
    /// Nodes rejected for this reason (all nodes for an uncounted PreFilter message).
    pub nodes: u32,
    /// The scheduler's text for it, e.g. `node(s) had untolerated taint {dedicated: gpu}`.
    pub text: String,
    /// True when the reason is a taint that is not a node-condition or control-plane taint.
    pub custom_taint: bool,
}

/// A parsed FailedScheduling message (or PodScheduled condition message).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchedulingFailure {
    /// `N` of `0/N nodes are available`.
    pub total_nodes: Option<u32>,
    pub reasons: Vec<ReasonCount>,
    /// The message was cut at 1024 bytes (` ...`); the condition message holds the whole one.
    pub truncated: bool,
}

impl SchedulingFailure {
    /// The primary reason (DESIGN §6 precedence, documented in the README):
    /// 1. capacity reasons win over everything else;
    /// 2. then specific placement reasons (anti-affinity, topology, ports, volumes, ...);
    /// 3. then background exclusions (taints, node affinity, cordoned nodes); among these a
    ///    custom taint wins over node affinity, because the scheduler checks taints first, so
    ///    the nodes the pod selects are the tainted ones, and control-plane taints come last;
    ///
    /// and within a tier the reason covering most nodes wins (ties: DESIGN §6 order).
    pub fn primary(&self) -> Option<BlockerReason> {
        let tier = |r: &ReasonCount| -> u8 {
            if r.reason.is_capacity() {
                0
            } else if !r.reason.is_background_exclusion() {
                1
            } else if r.custom_taint {
                2
            } else if r.reason == BlockerReason::UntoleratedTaint {
                4
            } else {
                3
            }
        };
        self.reasons
            .iter()
            .min_by(|a, b| {
                tier(a)
                    .cmp(&tier(b))
                    .then(b.nodes.cmp(&a.nodes))
                    .then(a.reason.cmp(&b.reason))
            })
            .map(|r| r.reason)
    }

    /// Merges repeated reasons (several items can map to one reason) by summing their counts.
    fn push(&mut self, rc: ReasonCount) {
        if let Some(e) = self.reasons.iter_mut().find(|e| e.reason == rc.reason) {
            // Counts come from the message: saturate rather than overflow on absurd ones.
            e.nodes = e.nodes.saturating_add(rc.nodes);
            e.custom_taint |= rc.custom_taint;
            if !e.text.contains(&rc.text) {
                e.text = format!("{}, {}", e.text, rc.text);
            }
        } else {
            self.reasons.push(rc);
        }
    }
}

/// Taint keys that mean "this node is not healthy or not schedulable", owned by infrastructure.
/// A taint the node lifecycle puts on a node for its condition (`node.kubernetes.io/not-ready`,
/// `unreachable`, `unschedulable`, pressure, …): the node's problem, not a placement policy.
pub fn is_node_condition_taint(key: &str) -> bool {
    key.starts_with("node.kubernetes.io/") || key.starts_with("node.cloudprovider.kubernetes.io/")
}

fn is_control_plane_taint(key: &str) -> bool {
    key == "node-role.kubernetes.io/control-plane" || key == "node-role.kubernetes.io/master"
}

/// Parses `0/N nodes are available: …` in the wordings of Kubernetes 1.23 to 1.35 (preemption
/// and DRA suffixes, the 1.26–1.28 trailing `..`, uncounted PreFilter messages, truncation).
/// `nodes` names the taints behind 1.35's keyless `untolerated taint(s)`. Returns None when the
/// message is not a scheduler fit error.
pub fn parse_failed_scheduling(message: &str, nodes: &[&NodeInfo]) -> Option<SchedulingFailure> {
    let msg = message
        .strip_prefix(super::view::COMBINED_PREFIX)
        .unwrap_or(message)
        .trim();
    // The scheduler's ErrNoNodesAvailable: the cluster has no node at all (captured on
    // kube-scheduler v1.35.4; the same text since the scheduler framework).
    if msg.starts_with("no nodes available to schedule pods") {
        return Some(SchedulingFailure {
            total_nodes: Some(0),
            reasons: vec![ReasonCount {
                reason: BlockerReason::NodesUnschedulable,
                nodes: 0,
                text: msg.to_string(),
                custom_taint: false,
            }],
            truncated: false,
        });
    }
    let Some(rest) = msg.strip_prefix("0/") else {
        return whole_message_failure(msg, nodes);
    };
    let (n, rest) = rest.split_once(' ')?;
    let total: u32 = n.parse().ok()?;
    let body = rest.strip_prefix("nodes are available:")?.trim_start();
    let mut out = SchedulingFailure {
        total_nodes: Some(total),
        ..Default::default()
    };
    let mut body = body.to_string();
    if let Some(b) = body.strip_suffix(" ...") {
        out.truncated = true;
        body = b.to_string();
    }
    // The histogram ends at the first ". "; the rest is PostFilter (DRA, preemption).
    let hist = match body.find(". ") {
        Some(i) => &body[..i],
        None => body.trim_end_matches('.'),
    };
    let items: Vec<&str> = hist.split(", ").collect();
    let last = items.len().saturating_sub(1);
    // 1.10–1.20 print the generic inter-pod text next to the specific one on the same node:
    // the specific one says which it is, the generic one would count the nodes twice.
    let specific_inter_pod = items.iter().any(|i| {
        i.ends_with("didn't match pod affinity rules")
            || i.ends_with("didn't match pod anti-affinity rules")
            || i.ends_with("didn't satisfy existing pods anti-affinity rules")
    });
    for (i, item) in items.iter().enumerate() {
        let item = item.trim();
        // ≤1.23 wording `{k: v}, that the pod didn't tolerate` contains the separator itself.
        if item.is_empty() || item.starts_with("that the pod didn't tolerate") {
            continue;
        }
        if specific_inter_pod && item.ends_with("didn't match pod affinity/anti-affinity") {
            continue;
        }
        // A truncated message may cut its last item in half: keep it only if it still parses.
        let (count, text) = match item.split_once(' ') {
            Some((c, t)) if c.bytes().all(|b| b.is_ascii_digit()) && !c.is_empty() => {
                (c.parse().unwrap_or(0), t)
            }
            _ => (total, item),
        };
        let (reason, custom_taint) = classify_filter_reason(text, nodes);
        if out.truncated && i == last && reason == BlockerReason::Other {
            continue;
        }
        out.push(ReasonCount {
            reason,
            nodes: count,
            text: text.to_string(),
            custom_taint,
        });
    }
    Some(out)
}

/// A scheduler error that is not the `0/N nodes are available` histogram, as older versions
/// printed it for volumes: `pod has unbound immediate PersistentVolumeClaims (repeated 3 times)`
/// (1.10–1.16, aggregated per node), `error while running "VolumeBinding" filter plugin for pod
/// "p": …` (1.17), `running "VolumeBinding" filter plugin for pod "p": …` (1.18), and
/// `persistentvolumeclaim "x" not found` (to 1.19). None for any other text.
fn whole_message_failure(msg: &str, nodes: &[&NodeInfo]) -> Option<SchedulingFailure> {
    let mut inner = msg.trim_end_matches('.');
    for prefix in ["error while running ", "running "] {
        if let Some(rest) = inner.strip_prefix(prefix)
            && let Some(i) = rest.find(" filter plugin for pod ")
            && let Some(j) = rest[i..].find("\": ")
        {
            inner = &rest[i + j + 3..];
            break;
        }
    }
    if let Some(i) = inner.rfind(" (repeated ")
        && inner.ends_with(" times)")
    {
        inner = &inner[..i];
    }
    let (reason, custom_taint) = classify_filter_reason(inner, nodes);
    (reason != BlockerReason::Other).then(|| SchedulingFailure {
        total_nodes: None,
        reasons: vec![ReasonCount {
            reason,
            nodes: 0,
            text: inner.to_string(),
            custom_taint,
        }],
        truncated: false,
    })
}

/// Maps one scheduler filter reason to a blocker reason; the bool says "custom taint".
pub fn classify_filter_reason(text: &str, nodes: &[&NodeInfo]) -> (BlockerReason, bool) {
    use BlockerReason as R;
    let t = text.trim();
    if let Some(res) = t.strip_prefix("Insufficient ") {
        return (
            match res {
                "cpu" => R::InsufficientCpu,
                "memory" => R::InsufficientMemory,
                "ephemeral-storage" => R::InsufficientEphemeralStorage,
                // 1.10–1.17 counted pods as a resource.
                "pods" => R::TooManyPods,
                _ => R::InsufficientResource,
            },
            false,
        );
    }
    if t == "Too many pods" {
        return (R::TooManyPods, false);
    }
    // The node's attachable-volume limit (EBS, GCE PD, Azure disk, CSI) is reached: node
    // capacity, like an extended resource.
    if t == "node(s) exceed max volume count" {
        return (R::InsufficientResource, false);
    }
    // 1.10–1.16 node-condition predicates (default only through 1.11; later the node lifecycle
    // taints such nodes instead): the node's problem.
    if matches!(
        t,
        "node(s) were not ready"
            | "node(s) had unavailable network"
            | "node(s) had network unavailable"
            | "node(s) were out of disk space"
            | "node(s) had memory pressure"
            | "node(s) had disk pressure"
            | "node(s) had pid pressure"
    ) {
        return (R::NodesUnschedulable, false);
    }
    // 1.10–1.17: the taint is not named; the nodes' taints decide, as for 1.35's keyless text.
    if t == "node(s) had taints that the pod didn't tolerate" {
        return classify_taint_keys(&tainted_keys(nodes));
    }
    // 1.24–1.34.1: `node(s) had untolerated taint {key: value}`; ≤1.23: `node(s) had taint {key:
    // value}, that the pod didn't tolerate`; 1.34.2+/1.35: `node(s) had untolerated taint(s)`.
    if t.starts_with("node(s) had untolerated taint") || t.starts_with("node(s) had taint {") {
        let keys: Vec<String> = match (t.find('{'), t.find(':')) {
            (Some(open), Some(colon)) if colon > open => {
                vec![t[open + 1..colon].trim().to_string()]
            }
            _ => tainted_keys(nodes),
        };
        return classify_taint_keys(&keys);
    }
    if t == "node(s) were unschedulable" || t == "node(s) had unknown conditions" {
        return (R::NodesUnschedulable, false);
    }
    if t.starts_with("node(s) didn't match Pod's node affinity")
        || t == "node(s) didn't match node selector"
        || t == "node(s) didn't match the requested node name"
        || t == "node(s) didn't match the requested hostname"
        || t == "node(s) didn't match scheduler-enforced node affinity"
        || t == "pod affinity terms conflict"
        || t.starts_with("node(s) didn't satisfy plugin")
    {
        return (R::NodeAffinityMismatch, false);
    }
    if t == "node(s) didn't match pod affinity rules"
        || t == "node(s) didn't match pod affinity/anti-affinity"
    {
        return (R::PodAffinityMismatch, false);
    }
    if t == "node(s) didn't match pod anti-affinity rules"
        || t == "node(s) didn't satisfy existing pods anti-affinity rules"
    {
        return (R::PodAntiAffinityConflict, false);
    }
    if t.starts_with("node(s) didn't match pod topology spread constraints") {
        return (R::TopologySpreadMismatch, false);
    }
    if t.starts_with("node(s) didn't have free ports") {
        return (R::NoFreePorts, false);
    }
    // A disk (GCE PD, EBS, RBD, iSCSI) already in use on those nodes: a volume that cannot go
    // there, like a zone conflict.
    if t == "node(s) had volume node affinity conflict"
        || t == "node(s) had no available disk"
        || t == "node(s) didn't match PersistentVolume's node affinity"
        || t.starts_with("node(s) had no available volume zone")
    {
        return (R::VolumeNodeAffinityConflict, false);
    }
    if t.starts_with("pod has unbound immediate PersistentVolumeClaims")
        || t.starts_with("pod has unbound PersistentVolumeClaims")
        || t == "pvc(s) bound to non-existent pv(s)"
        || t == "node(s) didn't find available persistent volumes to bind"
        || t == "node(s) did not have enough free storage"
        || t.starts_with(
            "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)",
        )
        || (t.starts_with("persistentvolumeclaim ")
            && (t.ends_with("not found")
                || t.contains("bound to non-existent")
                || t.ends_with("is being deleted")))
        || t.starts_with("waiting for ephemeral volume controller")
    {
        return (R::UnboundPvc, false);
    }
    (R::Other, false)
}

/// Taint keys of nodes that carry NoSchedule/NoExecute taints, for the keyless 1.35 wording.
fn tainted_keys(nodes: &[&NodeInfo]) -> Vec<String> {
    let mut keys: Vec<String> = nodes
        .iter()
        .flat_map(|n| n.taints.iter())
        .filter(|t: &&Taint| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .map(|t| t.key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Node-condition taints mean unhealthy nodes (infrastructure); control-plane taints are
/// background; anything else is a custom taint (platform: a dedicated pool the pod may not use).
fn classify_taint_keys(keys: &[String]) -> (BlockerReason, bool) {
    if !keys.is_empty() && keys.iter().all(|k| is_node_condition_taint(k)) {
        return (BlockerReason::NodesUnschedulable, false);
    }
    let custom = keys
        .iter()
        .any(|k| !is_node_condition_taint(k) && !is_control_plane_taint(k));
    (BlockerReason::UntoleratedTaint, custom)
}

/// Karpenter's `Failed to schedule pod, …` (it cannot create capacity for the pod).
pub fn classify_karpenter_failure(message: &str) -> BlockerReason {
    let m = message.to_ascii_lowercase();
    if m.contains("did not tolerate") {
        BlockerReason::UntoleratedTaint
    } else if m.contains("incompatible requirements") {
        BlockerReason::NodeAffinityMismatch
    } else if m.contains("exceed limits")
        || m.contains("limits have been exhausted")
        || m.contains("enough resources")
    {
        BlockerReason::InsufficientResource
    } else {
        BlockerReason::Other
    }
}

/// Image pull failures (kubelet `Failed` events, `ErrImagePull`/`ImagePullBackOff` waiting
/// messages) with containerd's and CRI-O's texts.
pub fn classify_image_pull(message: &str) -> BlockerReason {
    use BlockerReason as R;
    let m = message.to_ascii_lowercase();
    if m.contains("invalid reference format") || m.contains("couldn't parse image name") {
        return R::InvalidImageName;
    }
    // "429" alone is not enough: image names and digests hold it ("web:build-14290").
    if m.contains("429 too many requests")
        || m.contains("status 429")
        || m.contains("code 429")
        || m.contains("toomanyrequests")
        || m.contains("too many requests")
        || m.contains("rate limit")
    {
        return R::ImagePullRateLimited;
    }
    if m.contains("401 unauthorized")
        || m.contains("403 forbidden")
        || m.contains("unauthorized")
        || m.contains("authentication required")
        || m.contains("pull access denied")
        || m.contains("insufficient_scope")
        || m.contains("denied: ")
        || m.contains("no basic auth credentials")
    {
        return R::ImagePullUnauthorized;
    }
    if m.contains(": not found")
        || m.contains("code = notfound")
        || m.contains("manifest unknown")
        || m.contains("not present with pull policy of never")
        || m.contains("name unknown")
    {
        return R::ImageNotFound;
    }
    if m.contains("i/o timeout")
        || m.contains("no such host")
        || m.contains("connection refused")
        || m.contains("connection reset")
        || m.contains("tls:")
        || m.contains("x509:")
        || m.contains("context deadline exceeded")
        || m.contains("dial tcp")
        || m.contains("network is unreachable")
        || m.contains("registry is unavailable")
        || m.contains("eof")
    {
        return R::ImagePullNetwork;
    }
    R::Other
}

/// What a FailedMount / FailedAttachVolume message means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountFailure {
    /// A ConfigMap, Secret or key the pod mounts is missing: an application configuration error.
    ConfigMissing,
    /// The volume itself failed (CSI, attach, multi-attach, timeout): infrastructure.
    Volume,
}

pub fn classify_mount(message: &str) -> MountFailure {
    let m = message;
    if (m.contains("configmap \"") || m.contains("secret \"")) && m.contains("not found")
        || m.contains("couldn't find key")
    {
        MountFailure::ConfigMissing
    } else {
        MountFailure::Volume
    }
}

/// ReplicaSet `FailedCreate` events and the `ReplicaFailure` condition.
pub fn classify_replica_failure(message: &str) -> BlockerReason {
    if message.contains("exceeded quota")
        || message.contains("failed quota")
        || message.contains("status unknown for quota")
    {
        BlockerReason::QuotaExceeded
    } else if message.contains("violates PodSecurity")
        || message.contains("admission webhook")
        || message.contains("failed calling webhook")
        || message.contains("is forbidden")
        || message.contains("denied the request")
    {
        BlockerReason::AdmissionDenied
    } else {
        BlockerReason::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BlockerReason as R;

    fn parse(m: &str) -> SchedulingFailure {
        parse_failed_scheduling(m, &[]).expect(m)
    }

    fn pairs(f: &SchedulingFailure) -> Vec<(BlockerReason, u32)> {
        f.reasons.iter().map(|r| (r.reason, r.nodes)).collect()
    }

    #[test]
    fn capacity_wins_over_control_plane_taint_1_29() {
        let f = parse(
            "0/6 nodes are available: 3 Insufficient cpu, 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/6 nodes are available: 3 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.",
        );
        assert_eq!(f.total_nodes, Some(6));
        assert_eq!(
            pairs(&f),
            vec![(R::InsufficientCpu, 3), (R::UntoleratedTaint, 3)]
        );
        assert_eq!(f.primary(), Some(R::InsufficientCpu));
    }

    #[test]
    fn dra_suffix_and_keyless_taint_1_34_2() {
        let f = parse(
            "0/6 nodes are available: 3 Insufficient memory, 3 node(s) had untolerated taint(s). no new claims to deallocate, preemption: 0/6 nodes are available: 3 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.",
        );
        assert_eq!(
            pairs(&f),
            vec![(R::InsufficientMemory, 3), (R::UntoleratedTaint, 3)]
        );
        assert_eq!(f.primary(), Some(R::InsufficientMemory));
    }

    const OLD_REASONS: &[(&str, R)] = &[
        ("node(s) were not ready", R::NodesUnschedulable),
        ("node(s) had unavailable network", R::NodesUnschedulable),
        ("node(s) were out of disk space", R::NodesUnschedulable),
        ("node(s) had memory pressure", R::NodesUnschedulable),
        ("node(s) had disk pressure", R::NodesUnschedulable),
        ("node(s) had pid pressure", R::NodesUnschedulable),
        ("node(s) were unschedulable", R::NodesUnschedulable),
        ("node(s) had unknown conditions", R::NodesUnschedulable),
        (
            "node(s) had taints that the pod didn't tolerate",
            R::UntoleratedTaint,
        ),
        (
            "node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate",
            R::UntoleratedTaint,
        ),
        (
            "node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate",
            R::NodesUnschedulable,
        ),
        (
            "node(s) didn't match node selector",
            R::NodeAffinityMismatch,
        ),
        (
            "node(s) didn't match Pod's node affinity",
            R::NodeAffinityMismatch,
        ),
        (
            "node(s) didn't match scheduler-enforced node affinity",
            R::NodeAffinityMismatch,
        ),
        (
            "node(s) didn't match the requested hostname",
            R::NodeAffinityMismatch,
        ),
        (
            "node(s) didn't match pod affinity/anti-affinity",
            R::PodAffinityMismatch,
        ),
        (
            "node(s) didn't match pod affinity rules",
            R::PodAffinityMismatch,
        ),
        (
            "node(s) didn't match pod anti-affinity rules",
            R::PodAntiAffinityConflict,
        ),
        (
            "node(s) didn't satisfy existing pods anti-affinity rules",
            R::PodAntiAffinityConflict,
        ),
        (
            "node(s) didn't match pod topology spread constraints",
            R::TopologySpreadMismatch,
        ),
        (
            "node(s) didn't match pod topology spread constraints (missing required label)",
            R::TopologySpreadMismatch,
        ),
        (
            "node(s) didn't have free ports for the requested pod ports",
            R::NoFreePorts,
        ),
        (
            "node(s) had no available volume zone",
            R::VolumeNodeAffinityConflict,
        ),
        (
            "node(s) had volume node affinity conflict",
            R::VolumeNodeAffinityConflict,
        ),
        (
            "node(s) didn't find available persistent volumes to bind",
            R::UnboundPvc,
        ),
        ("node(s) did not have enough free storage", R::UnboundPvc),
        ("pvc(s) bound to non-existent pv(s)", R::UnboundPvc),
        (
            "pod has unbound immediate PersistentVolumeClaims",
            R::UnboundPvc,
        ),
        ("persistentvolumeclaim \"uploads\" not found", R::UnboundPvc),
        (
            "persistentvolumeclaim \"uploads\" is being deleted",
            R::UnboundPvc,
        ),
        ("node(s) had network unavailable", R::NodesUnschedulable),
        ("node(s) exceed max volume count", R::InsufficientResource),
        (
            "node(s) had no available disk",
            R::VolumeNodeAffinityConflict,
        ),
        ("node(s) didn't have the requested labels", R::Other),
        ("node(s) didn't match service affinity", R::Other),
        ("Insufficient cpu", R::InsufficientCpu),
        ("Insufficient memory", R::InsufficientMemory),
        (
            "Insufficient ephemeral-storage",
            R::InsufficientEphemeralStorage,
        ),
        ("Insufficient pods", R::TooManyPods),
        ("Too many pods", R::TooManyPods),
        ("Insufficient nvidia.com/gpu", R::InsufficientResource),
        (
            "Insufficient alpha.kubernetes.io/nvidia-gpu",
            R::InsufficientResource,
        ),
        ("Insufficient hugepages-2Mi", R::InsufficientResource),
    ];

    /// Every per-node reason kube-scheduler 1.10–1.20 printed (source and version range of each
    /// in tests/fixtures/README.md, "Scheduler wordings 1.10–1.20").
    #[test]
    fn every_reason_of_kubernetes_1_10_to_1_20_maps() {
        for (text, want) in OLD_REASONS {
            assert_eq!(classify_filter_reason(text, &[]).0, *want, "{text}");
        }
    }

    #[test]
    fn aggregates_of_kubernetes_1_10_to_1_20() {
        let f = parse(
            "0/5 nodes are available: 2 node(s) were not ready, 3 node(s) had memory pressure.",
        );
        assert_eq!(pairs(&f), vec![(R::NodesUnschedulable, 5)]);
        assert_eq!(f.primary(), Some(R::NodesUnschedulable));
        let f = parse(
            "0/130 nodes are available: 1 node(s) were not ready, 1 node(s) were out of disk space, 14 Insufficient memory, 31 Insufficient cpu, 97 node(s) didn't match node selector.",
        );
        assert_eq!(
            pairs(&f),
            vec![
                (R::NodesUnschedulable, 2),
                (R::InsufficientMemory, 14),
                (R::InsufficientCpu, 31),
                (R::NodeAffinityMismatch, 97)
            ]
        );
        assert_eq!(f.primary(), Some(R::InsufficientCpu));
        let f = parse(
            "0/4 nodes are available: 1 node(s) had taints that the pod didn't tolerate, 3 Insufficient pods.",
        );
        assert_eq!(f.primary(), Some(R::TooManyPods));
        // The generic inter-pod text beside the specific one counts its nodes once.
        let f = parse(
            "0/3 nodes are available: 1 node(s) had taints that the pod didn't tolerate, 2 node(s) didn't match pod affinity/anti-affinity, 2 node(s) didn't satisfy existing pods anti-affinity rules.",
        );
        assert_eq!(
            pairs(&f),
            vec![(R::UntoleratedTaint, 1), (R::PodAntiAffinityConflict, 2)]
        );
        // 1.17 prints the generic one alone.
        let f = parse(
            "0/3 nodes are available: 1 node(s) had taints that the pod didn't tolerate, 2 node(s) didn't match pod affinity/anti-affinity.",
        );
        assert_eq!(f.primary(), Some(R::PodAffinityMismatch));
        let f = parse(
            "0/4 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate, 1 node(s) were unschedulable, 2 Insufficient cpu, 2 Insufficient memory.",
        );
        assert_eq!(f.primary(), Some(R::InsufficientCpu));
        let f = parse(
            "0/13 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate, 10 Insufficient cpu, 2 node(s) didn't match Pod's node affinity.",
        );
        assert_eq!(pairs(&f)[1], (R::InsufficientCpu, 10));
        let f =
            parse("0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.");
        assert_eq!(f.primary(), Some(R::UnboundPvc));
    }

    /// Found by the `event_message` fuzz target: node counts that overflow when merged.
    #[test]
    fn absurd_node_counts_saturate() {
        let f = parse(
            "0/3 nodes are available: 4294967295 Insufficient cpu, 4294967295 Insufficient cpu.",
        );
        assert_eq!(pairs(&f), vec![(R::InsufficientCpu, u32::MAX)]);
    }

    #[test]
    fn whole_volume_messages_of_kubernetes_1_10_to_1_19() {
        for m in [
            "pod has unbound PersistentVolumeClaims",
            "pod has unbound immediate PersistentVolumeClaims",
            "pod has unbound immediate PersistentVolumeClaims (repeated 3 times)",
            "error while running \"VolumeBinding\" filter plugin for pod \"db-0\": pod has unbound immediate PersistentVolumeClaims",
            "running \"VolumeBinding\" filter plugin for pod \"rabbitmq-cluster-0\": pod has unbound immediate PersistentVolumeClaims",
            "persistentvolumeclaim \"uploads-data\" not found",
        ] {
            let f = parse(m);
            assert_eq!(f.primary(), Some(R::UnboundPvc), "{m}");
            assert_eq!(f.total_nodes, None, "{m}");
        }
        assert!(parse_failed_scheduling("skip schedule deleting pod: shop/x", &[]).is_none());
    }

    #[test]
    fn a_cluster_without_nodes_is_infrastructures() {
        let f = parse_failed_scheduling("no nodes available to schedule pods", &[]).unwrap();
        assert_eq!(f.primary(), Some(BlockerReason::NodesUnschedulable));
        assert_eq!(f.total_nodes, Some(0));
        assert_eq!(
            BlockerReason::NodesUnschedulable.default_owner(),
            Owner::Infrastructure
        );
    }

    #[test]
    fn keyless_taint_is_named_from_nodes_json() {
        let node = |name: &str, key: &str| NodeInfo {
            name: name.into(),
            labels: Default::default(),
            unschedulable: false,
            ready: Some(true),
            taints: vec![Taint {
                key: key.into(),
                value: String::new(),
                effect: "NoSchedule".into(),
            }],
            newest_time: None,
        };
        let (a, b) = (
            node("n1", "node.kubernetes.io/not-ready"),
            node("n2", "node.kubernetes.io/unreachable"),
        );
        let f = parse_failed_scheduling("0/2 nodes are available: 2 node(s) had untolerated taint(s). preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.", &[&a, &b]).unwrap();
        assert_eq!(f.primary(), Some(R::NodesUnschedulable));
        let c = node("n3", "dedicated");
        let f = parse_failed_scheduling(
            "0/3 nodes are available: 3 node(s) had untolerated taint(s).",
            &[&a, &c],
        )
        .unwrap();
        assert_eq!(f.primary(), Some(R::UntoleratedTaint));
        assert!(f.reasons[0].custom_taint);
    }

    #[test]
    fn older_wordings_1_23_and_1_25() {
        let f = parse(
            "0/3 nodes are available: 1 node(s) had taint {dedicated: batch}, that the pod didn't tolerate, 2 Insufficient memory.",
        );
        assert_eq!(
            pairs(&f),
            vec![(R::UntoleratedTaint, 1), (R::InsufficientMemory, 2)]
        );
        assert_eq!(f.primary(), Some(R::InsufficientMemory));
        let f = parse(
            "0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        );
        assert_eq!(pairs(&f), vec![(R::UnboundPvc, 3)]);
        let f = parse(
            "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 3 Insufficient memory. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.",
        );
        assert_eq!(
            pairs(&f),
            vec![(R::NodesUnschedulable, 1), (R::InsufficientMemory, 3)]
        );
    }

    #[test]
    fn uncounted_prefilter_and_double_period_1_26() {
        let f = parse(
            "0/3 nodes are available: persistentvolumeclaim \"data-api-0\" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..",
        );
        assert_eq!(pairs(&f), vec![(R::UnboundPvc, 3)]);
    }

    #[test]
    fn custom_taint_beats_node_affinity_and_most_nodes_wins_otherwise() {
        let f = parse(
            "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.",
        );
        assert_eq!(f.primary(), Some(R::UntoleratedTaint));
        let f = parse(
            "0/5 nodes are available: 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 node(s) didn't match Pod's node affinity/selector.",
        );
        assert_eq!(f.primary(), Some(R::NodeAffinityMismatch));
        let f = parse(
            "0/6 nodes are available: 2 node(s) didn't match pod topology spread constraints, 4 node(s) didn't match Pod's node affinity/selector. preemption: 0/6 nodes are available: 2 No preemption victims found for incoming pod, 4 Preemption is not helpful for scheduling.",
        );
        assert_eq!(f.primary(), Some(R::TopologySpreadMismatch));
        // lexicographic trap: "10 …" sorts before "2 …"; counts decide, not order.
        let f = parse(
            "0/12 nodes are available: 10 node(s) didn't match pod anti-affinity rules, 2 node(s) didn't have free ports for the requested pod ports.",
        );
        assert_eq!(f.primary(), Some(R::PodAntiAffinityConflict));
    }

    #[test]
    fn every_filter_reason_maps() {
        for (text, r) in [
            (
                "Insufficient ephemeral-storage",
                R::InsufficientEphemeralStorage,
            ),
            ("Insufficient nvidia.com/gpu", R::InsufficientResource),
            ("Too many pods", R::TooManyPods),
            ("node(s) were unschedulable", R::NodesUnschedulable),
            (
                "node(s) didn't match Pod's node affinity/selector",
                R::NodeAffinityMismatch,
            ),
            (
                "node(s) didn't satisfy plugin(s) [NodeAffinity]",
                R::NodeAffinityMismatch,
            ),
            (
                "node(s) didn't match pod affinity rules",
                R::PodAffinityMismatch,
            ),
            (
                "node(s) didn't satisfy existing pods anti-affinity rules",
                R::PodAntiAffinityConflict,
            ),
            (
                "node(s) didn't match pod topology spread constraints (missing required label)",
                R::TopologySpreadMismatch,
            ),
            (
                "node(s) didn't have free ports for the requested pod ports",
                R::NoFreePorts,
            ),
            (
                "node(s) had volume node affinity conflict",
                R::VolumeNodeAffinityConflict,
            ),
            (
                "node(s) didn't match PersistentVolume's node affinity",
                R::VolumeNodeAffinityConflict,
            ),
            (
                "node(s) didn't find available persistent volumes to bind",
                R::UnboundPvc,
            ),
            ("cannot allocate all claims", R::Other),
        ] {
            assert_eq!(classify_filter_reason(text, &[]).0, r, "{text}");
        }
    }

    #[test]
    fn combined_prefix_and_truncation() {
        let f =
            parse("(combined from similar events): 0/3 nodes are available: 3 Insufficient cpu.");
        assert_eq!(pairs(&f), vec![(R::InsufficientCpu, 3)]);
        let f = parse(
            "0/40 nodes are available: 12 Insufficient cpu, 20 Insufficient memory, 8 node(s) didn't match pod anti-affi ...",
        );
        assert!(f.truncated);
        assert_eq!(
            pairs(&f),
            vec![(R::InsufficientCpu, 12), (R::InsufficientMemory, 20)]
        );
        assert!(parse_failed_scheduling("running PreBind plugin \"VolumeBinding\": binding volumes: context deadline exceeded", &[]).is_none());
    }

    #[test]
    fn image_pull_texts_of_containerd_and_registries() {
        for (m, r) in [
            (
                "Failed to pull image \"registry.example.com/shop/api:1.4.2\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/api:1.4.2\": failed to resolve reference \"registry.example.com/shop/api:1.4.2\": registry.example.com/shop/api:1.4.2: not found",
                R::ImageNotFound,
            ),
            (
                "Failed to pull image \"acme/api:1.4.2\": failed to pull and unpack image \"docker.io/acme/api:1.4.2\": failed to resolve reference \"docker.io/acme/api:1.4.2\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
                R::ImagePullUnauthorized,
            ),
            (
                "Failed to pull image \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4.2\": failed to pull and unpack image \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4.2\": failed to resolve reference \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4.2\": unexpected status from HEAD request to https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/api/manifests/1.4.2: 401 Unauthorized",
                R::ImagePullUnauthorized,
            ),
            (
                "failed to resolve reference \"ghcr.io/acme/api:1\": unexpected status from HEAD request to https://ghcr.io/v2/acme/api/manifests/1: 403 Forbidden",
                R::ImagePullUnauthorized,
            ),
            (
                "Failed to pull image \"redis:7.2\": failed to pull and unpack image \"docker.io/library/redis:7.2\": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/redis/manifests/sha256:abc: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
                R::ImagePullRateLimited,
            ),
            (
                "Failed to pull image \"quay.io/acme/worker:2.0\": failed to pull and unpack image \"quay.io/acme/worker:2.0\": failed to resolve reference \"quay.io/acme/worker:2.0\": failed to do request: Head \"https://quay.io/v2/acme/worker/manifests/2.0\": dial tcp 3.216.152.103:443: i/o timeout",
                R::ImagePullNetwork,
            ),
            (
                "Failed to apply default image tag \"myorg/MyApp:1.0\": couldn't parse image name \"myorg/MyApp:1.0\": invalid reference format: repository name (myorg/MyApp) must be lowercase",
                R::InvalidImageName,
            ),
            (
                "Container image \"api:dev\" is not present with pull policy of Never",
                R::ImageNotFound,
            ),
            // "429" inside a tag or a digest is not a rate limit.
            (
                "Failed to pull image \"registry.example.com/shop/web:build-14290\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/web:build-14290\": failed to resolve reference \"registry.example.com/shop/web:build-14290\": registry.example.com/shop/web:build-14290: not found",
                R::ImageNotFound,
            ),
        ] {
            assert_eq!(classify_image_pull(m), r, "{m}");
        }
    }

    #[test]
    fn replica_failures_and_mounts() {
        assert_eq!(
            classify_replica_failure(
                "Error creating: pods \"api-7c9d8f6b5-q8wzt\" is forbidden: exceeded quota: compute-resources, requested: requests.cpu=500m, used: requests.cpu=3800m, limited: requests.cpu=4"
            ),
            R::QuotaExceeded
        );
        assert_eq!(
            classify_replica_failure(
                "Error creating: pods \"api-7c9d8f6b5-q8wzt\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false"
            ),
            R::AdmissionDenied
        );
        assert_eq!(
            classify_replica_failure(
                "Error creating: admission webhook \"validate.kyverno.svc-fail\" denied the request: no"
            ),
            R::AdmissionDenied
        );
        assert_eq!(
            classify_mount(
                "MountVolume.SetUp failed for volume \"config\" : configmap \"api-config\" not found"
            ),
            MountFailure::ConfigMissing
        );
        assert_eq!(
            classify_mount(
                "Multi-Attach error for volume \"pvc-0f3b\" Volume is already exclusively attached to one node and can't be attached to another"
            ),
            MountFailure::Volume
        );
    }

    #[test]
    fn reason_labels_round_trip_and_default_owners() {
        for r in BlockerReason::ALL {
            assert_eq!(BlockerReason::parse(r.as_str()), Some(*r));
        }
        assert_eq!(R::UntoleratedTaint.default_owner(), Owner::Platform);
        assert_eq!(R::NodeAffinityMismatch.default_owner(), Owner::Application);
        assert_eq!(
            R::SandboxCreationFailed.default_owner(),
            Owner::Infrastructure
        );
        assert_eq!(R::Other.default_owner(), Owner::Platform);
    }
}
