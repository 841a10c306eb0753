//! The next step of a blocked verdict, chosen from what the quoted message shows, not from the
//! reason alone: an IP shortage and a CNI plugin timing out on the API server are both
//! `sandbox_creation_failed`, a Karpenter pod and a cluster-autoscaler pod both
//! `insufficient_cpu`, and a quota that is exhausted and one that only wants limits both
//! `quota_exceeded`. Each sub-case names its source text in tests/fixtures/README.md
//! ("Next-step sub-cases").

use super::super::events::BlockerReason;

/// Where the next step points: the namespace, Deployment and a held pod.
pub(super) struct Target<'a> {
    pub ns: &'a str,
    pub name: &'a str,
    pub pod: Option<&'a str>,
}

impl Target<'_> {
    fn describe(&self) -> String {
        match self.pod {
            Some(p) => format!("kubectl describe pod -n {} {p}", self.ns),
            None => format!("kubectl describe rs -n {} -l app={}", self.ns, self.name),
        }
    }
}

/// The next step for blocker `r` whose message (the primary blocker's, as quoted in the
/// verdict) is `message`.
pub(super) fn blocker_next_step(r: BlockerReason, message: &str, t: &Target<'_>) -> String {
    use BlockerReason as R;
    let m = message.to_ascii_lowercase();
    let describe = t.describe();
    match r {
        R::InsufficientCpu
        | R::InsufficientMemory
        | R::InsufficientEphemeralStorage
        | R::InsufficientResource
        | R::TooManyPods => capacity(&m, &describe),
        R::NodesUnschedulable => nodes(&m),
        R::UntoleratedTaint => format!(
            "Add the toleration for the tainted pool to the deployment, or schedule elsewhere; {describe}"
        ),
        R::NodeAffinityMismatch
        | R::PodAffinityMismatch
        | R::PodAntiAffinityConflict
        | R::TopologySpreadMismatch
        | R::NoFreePorts => {
            format!("Relax the deployment's placement rules or add matching nodes; {describe}")
        }
        R::UnboundPvc if m.contains("persistentvolumeclaim \"") && m.contains("not found") => {
            format!(
                "The PVC named in the message does not exist in {}: create it or fix claimName in deployment/{}; kubectl get pvc -n {}",
                t.ns, t.name, t.ns
            )
        }
        R::VolumeNodeAffinityConflict | R::UnboundPvc => {
            format!("kubectl get pvc -n {}; {describe}", t.ns)
        }
        R::SandboxCreationFailed => sandbox(&m, message, &describe),
        R::VolumeMountFailed => mount(&m, &describe),
        R::ImagePullNetwork => pull_network(&m, &describe),
        R::ImagePullUnauthorized => {
            format!("Fix the image pull secret or the registry permissions; {describe}")
        }
        R::ImagePullRateLimited => {
            "Authenticate pulls or use a registry mirror; wait for the rate limit to reset"
                .to_string()
        }
        R::QuotaExceeded => quota(&m, t),
        R::AdmissionDenied => admission(&m, t),
        R::ImageNotFound | R::InvalidImageName => format!(
            "Fix the image reference in deployment/{}: kubectl -n {} get deployment {} -o jsonpath='{{.spec.template.spec.containers[*].image}}'",
            t.name, t.ns, t.name
        ),
        R::Other => describe,
    }
}

/// Capacity: which autoscaler spoke, and what it said (cluster-autoscaler's NotTriggerScaleUp
/// reasons, a scale-up that did not help, Karpenter's nominations), or none at all.
fn capacity(m: &str, describe: &str) -> String {
    const CA_STATUS: &str = "kubectl -n kube-system describe configmap cluster-autoscaler-status";
    if m.contains("karpenter") || m.contains("nodepool") || m.contains("nodeclaim") {
        let limits = m.contains("exceed limits") || m.contains("limits have been exhausted");
        return if limits {
            format!(
                "Karpenter's NodePool limits are reached: raise spec.limits of the NodePool or lower the pods' requests: kubectl get nodepools; {describe}"
            )
        } else {
            format!(
                "Karpenter nominated node claims that never took the pod: check why they do not launch or do not fit (instance types, NodePool requirements, cloud capacity): kubectl get nodeclaims; kubectl describe nodeclaims; {describe}"
            )
        };
    }
    if m.contains("max node group size reached") {
        return format!(
            "The node groups that fit the pod are at their maximum size: raise their maximum or lower the pods' requests; {CA_STATUS}"
        );
    }
    if m.contains("max cluster") && m.contains("limit reached") {
        return format!(
            "The cluster autoscaler's cluster-wide resource limit is reached (--cores-total/--memory-total): raise it or lower the pods' requests; {CA_STATUS}"
        );
    }
    if m.contains("in backoff after failed scale-up") {
        return format!(
            "The cloud provider failed to add a node (quota, capacity or subnet IPs), and the cluster autoscaler is backing off: read why in {CA_STATUS}"
        );
    }
    if m.contains("cluster autoscaler triggered a scale-up") {
        return format!(
            "The cluster autoscaler's scale-up did not give the pod a node within --scale-up-window: check whether the new node joined and is Ready: kubectl get nodes; {CA_STATUS}"
        );
    }
    if m.contains("didn't trigger scale-up") {
        return format!(
            "No node group can fit the pod (the cluster autoscaler's reasons are quoted): add a node group that fits or lower the pods' requests; {CA_STATUS}"
        );
    }
    format!("Add nodes or lower the pods' requests (no autoscaler acted on the pod); {describe}")
}

fn nodes(m: &str) -> String {
    if m.contains("no nodes available to schedule pods") {
        "The cluster has no nodes: check the node groups or NodePools: kubectl get nodes".into()
    } else if m.contains("were unschedulable") && !m.contains("not ready") {
        "Nodes are cordoned: uncordon them once their drain is done: kubectl get nodes --field-selector spec.unschedulable=true".into()
    } else {
        "Repair the nodes that are not ready or under pressure: kubectl get nodes; kubectl describe nodes".into()
    }
}

/// The CNI plugin a sandbox error names (`plugin type="calico"`), if it does.
fn cni_plugin(message: &str) -> Option<&str> {
    let rest = &message[message.find("plugin type=\"")? + "plugin type=\"".len()..];
    Some(&rest[..rest.find('"')?])
}

/// Sandbox creation: IP exhaustion, the CNI agent down, the CNI timing out on or unable to reach
/// the API server, the CNI not initialised, the pause image, the runtime.
fn sandbox(m: &str, message: &str, describe: &str) -> String {
    let cni = cni_plugin(message)
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    // The pause image first: its pull error quotes network texts of its own.
    if m.contains("failed to get sandbox image") {
        return format!(
            "The pod's node cannot pull the pause (sandbox) image named in the message: fix the runtime's sandbox_image or its registry access; {describe}"
        );
    }
    const IP_EXHAUSTED: [&str; 8] = [
        "failed to assign an ip address",
        "no ips available in pools",
        "no more free affine blocks",
        "range is full",
        "no ip addresses available in range set",
        "no available ip/prefix addresses",
        "no available addresses",
        "unable to allocate ip address",
    ];
    if IP_EXHAUSTED.iter().any(|p| m.contains(p)) {
        return format!(
            "The pod's node has no free pod IPs{cni}: free addresses in the subnet or IP pool, or raise the node's IP limits; {describe}"
        );
    }
    if m.contains("the server was unable to return a response in the time allotted") {
        return "The CNI plugin timed out waiting for the API server (not an IP shortage): check the API server's health and load: kubectl get --raw='/readyz?verbose'".into();
    }
    if m.contains("connection is unauthorized") {
        return format!(
            "The CNI plugin's API token on the pod's node is stale{cni}: restart the CNI agent pod on that node; {describe}"
        );
    }
    const AGENT_DOWN: [&str; 5] = [
        "failed to connect to backend server",
        "addnetwork grpc call",
        "unable to connect to cilium daemon",
        "check that the calico/node container is running",
        // The plugin's own daemon on the node (weave 127.0.0.1:6784, ipamd 127.0.0.1:50051).
        "dial tcp 127.0.0.1:",
    ];
    if AGENT_DOWN.iter().any(|p| m.contains(p)) {
        return format!(
            "The CNI agent on the pod's node is not running{cni}: kubectl get pods -A -o wide --field-selector spec.nodeName=<node>; {describe}"
        );
    }
    if m.contains("dial tcp") && (m.contains("i/o timeout") || m.contains("connection refused")) {
        return format!(
            "The CNI plugin on the pod's node cannot reach the API server's Service IP{cni}: check kube-proxy and the node's network; {describe}"
        );
    }
    const NOT_INITIALISED: [&str; 4] = [
        "cni plugin not initialized",
        "cni config uninitialized",
        "no network config found",
        "networkpluginnotready",
    ];
    if NOT_INITIALISED.iter().any(|p| m.contains(p)) {
        return format!(
            "The pod's node has no working CNI configuration (its CNI DaemonSet pod is not ready there): kubectl describe node <node>; {describe}"
        );
    }
    if m.contains("failed to find plugin") {
        return format!(
            "The CNI binary named in the message is missing from /opt/cni/bin on the pod's node: reinstall the CNI there; {describe}"
        );
    }
    if m.contains("failed to create containerd task")
        || m.contains("oci runtime create failed")
        || m.contains("failed to reserve sandbox name")
    {
        return format!(
            "The container runtime on the pod's node failed to start the sandbox: check containerd there (journalctl -u containerd); {describe}"
        );
    }
    format!("Check the CNI plugin{cni} on the pod's node; {describe}")
}

fn mount(m: &str, describe: &str) -> String {
    if m.contains("multi-attach error") {
        return format!(
            "The ReadWriteOnce volume is still attached to another node (a RollingUpdate Deployment with an RWO PVC needs strategy Recreate): kubectl get volumeattachments; {describe}"
        );
    }
    if m.contains("not found in the list of registered csi drivers") {
        return format!(
            "The CSI driver named in the message is not running on the pod's node: kubectl get csinodes; {describe}"
        );
    }
    format!("Check the volume attachment and CSI driver; {describe}")
}

fn pull_network(m: &str, describe: &str) -> String {
    if m.contains("no such host") {
        return format!(
            "The node cannot resolve the registry host: check the host name in the image reference first, then the node's DNS; {describe}"
        );
    }
    if m.contains("x509:") || m.contains("tls:") {
        return format!(
            "The node does not trust the registry's certificate: install the registry CA in the runtime or fix the certificate; {describe}"
        );
    }
    if m.contains("server gave http response to https client") {
        return format!(
            "The registry speaks plain HTTP: configure it as an HTTP registry in the runtime, or put TLS in front; {describe}"
        );
    }
    format!("Check the nodes' route (NAT, proxy, firewall) to the registry; {describe}")
}

fn quota(m: &str, t: &Target<'_>) -> String {
    if m.contains("must specify") {
        return format!(
            "The namespace's ResourceQuota requires requests/limits that deployment/{} does not set (the quota is not exhausted): set the resources the message names in the pod template; kubectl describe resourcequota -n {}",
            t.name, t.ns
        );
    }
    if m.contains("insufficient quota to consume") {
        return format!(
            "The pods request a resource the namespace's quota covers with no allowance: add it to a ResourceQuota or remove the request; kubectl describe resourcequota -n {}",
            t.ns
        );
    }
    format!(
        "The namespace's ResourceQuota is exhausted: raise it or free resources: kubectl describe resourcequota -n {}",
        t.ns
    )
}

fn admission(m: &str, t: &Target<'_>) -> String {
    if m.contains("violates podsecurity") {
        return format!(
            "Make the pod template meet the namespace's Pod Security level (the violations are quoted), or change the namespace's enforce label: kubectl get ns {} --show-labels",
            t.ns
        );
    }
    if m.contains("failed calling webhook") {
        return "The admission webhook named in the message cannot be reached (not a policy decision): check its Service and pods: kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations".into();
    }
    if m.contains("denied the request") {
        return format!(
            "An admission webhook's policy denied the pods (its reason is quoted): change deployment/{} or the policy; kubectl get events -n {} --field-selector reason=FailedCreate",
            t.name, t.ns
        );
    }
    format!(
        "kubectl get events -n {} --field-selector reason=FailedCreate",
        t.ns
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use BlockerReason as R;

    const T: Target<'static> = Target {
        ns: "shop",
        name: "checkout",
        pod: Some("checkout-1"),
    };

    const SUB_CASES: &[(R, &str, &str, &str)] = &[
        (
            R::SandboxCreationFailed,
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"0050c8e1\": plugin type=\"calico\" failed (add): the server was unable to return a response in the time allotted, but may still be processing the request (get namespaces ci)",
            "timed out waiting for the API server",
            "IPs",
        ),
        (
            R::SandboxCreationFailed,
            "failed to setup network for sandbox \"3209\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container",
            "no free pod IPs (aws-cni)",
            "API server",
        ),
        (
            R::SandboxCreationFailed,
            "plugin type=\"calico\" failed (add): failed to request IPv4 addresses: Assigned 0 out of 1 requested IPv4 addresses; No IPs available in pools: [10.99.9.0/29]",
            "no free pod IPs (calico)",
            "API server",
        ),
        (
            R::SandboxCreationFailed,
            "unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure  range is full",
            "no free pod IPs",
            "API server",
        ),
        (
            R::SandboxCreationFailed,
            "plugin type=\"calico\" failed (add): error getting ClusterInformation: Get \"https://10.233.0.1:443/apis/crd.projectcalico.org/v1/clusterinformations/default\": dial tcp 10.233.0.1:443: i/o timeout",
            "cannot reach the API server's Service IP (calico)",
            "IPs",
        ),
        (
            R::SandboxCreationFailed,
            "plugin type=\"aws-cni\" failed (add): add cmd: Error received from AddNetwork gRPC call: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:50051: connect: connection refused\"",
            "CNI agent on the pod's node is not running (aws-cni)",
            "IPs",
        ),
        (
            R::SandboxCreationFailed,
            "network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
            "no working CNI configuration",
            "IPs",
        ),
        (
            R::SandboxCreationFailed,
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image \"k8s.gcr.io/pause:3.5\": failed to pull image \"k8s.gcr.io/pause:3.5\"",
            "pause (sandbox) image",
            "IPs",
        ),
        (
            R::InsufficientCpu,
            "0/3 nodes are available: 3 Insufficient cpu. Karpenter nominated the pod 4 times since 10:20:02 (Pod should schedule on: nodeclaim/default-x7k2p), longer ago than --scale-up-window, and the pod is still pending: the new capacity did not help.",
            "Karpenter nominated node claims",
            "cluster autoscaler",
        ),
        (
            R::InsufficientCpu,
            "0/3 nodes are available: 3 Insufficient cpu. Cluster autoscaler: pod didn't trigger scale-up: 2 max node group size reached",
            "at their maximum size",
            "Karpenter",
        ),
        (
            R::InsufficientCpu,
            "0/3 nodes are available: 3 Insufficient cpu. Cluster autoscaler: pod didn't trigger scale-up: 1 in backoff after failed scale-up",
            "failed to add a node",
            "Karpenter",
        ),
        (
            R::InsufficientCpu,
            "0/3 nodes are available: 3 Insufficient cpu. the cluster autoscaler triggered a scale-up at 10:42:00 (pod triggered scale-up: [{ng 3->4 (max: 10)}]), longer ago than --scale-up-window, and the pod is still pending: the new capacity did not help.",
            "did not give the pod a node",
            "Karpenter",
        ),
        (
            R::InsufficientCpu,
            "0/3 nodes are available: 3 Insufficient cpu.",
            "no autoscaler acted",
            "node group",
        ),
        (
            R::InsufficientResource,
            "Failed to schedule pod, all available instance types exceed limits for nodepool: \"default\"",
            "NodePool limits",
            "cluster autoscaler",
        ),
        (
            R::QuotaExceeded,
            "Error creating: pods \"must-specify-5d8-x\" is forbidden: failed quota: compute-resources: must specify limits.cpu for: app; limits.memory for: app",
            "the quota is not exhausted",
            "is exhausted",
        ),
        (
            R::QuotaExceeded,
            "Error creating: pods \"a\" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=2, used: limits.cpu=4, limited: limits.cpu=4",
            "is exhausted",
            "not exhausted",
        ),
        (
            R::AdmissionDenied,
            "Error creating: pods \"a\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false",
            "Pod Security level",
            "webhook",
        ),
        (
            R::AdmissionDenied,
            "Error creating: Internal error occurred: failed calling webhook \"validate.kyverno.svc\": failed to call webhook: Post \"https://kyverno-svc.kyverno.svc:443/validate\": context deadline exceeded",
            "cannot be reached",
            "Pod Security",
        ),
        (
            R::AdmissionDenied,
            "Error creating: admission webhook \"validate.gatekeeper.sh\" denied the request: [require-team-label] missing label team",
            "policy denied the pods",
            "cannot be reached",
        ),
        (
            R::ImagePullNetwork,
            "Failed to pull image \"registry.exmaple.com/a:1\": dial tcp: lookup registry.exmaple.com on 10.0.0.2:53: no such host",
            "cannot resolve the registry host",
            "route",
        ),
        (
            R::ImagePullNetwork,
            "Failed to pull image \"quay.io/acme/worker:2.0\": Head \"https://quay.io/v2/acme/worker/manifests/2.0\": dial tcp 3.216.152.103:443: i/o timeout",
            "route (NAT, proxy, firewall)",
            "resolve",
        ),
        (
            R::VolumeMountFailed,
            "Multi-Attach error for volume \"pvc-9dbdb7f1\" Volume is already exclusively attached to one node and can't be attached to another",
            "ReadWriteOnce volume is still attached",
            "CSI driver named",
        ),
        (
            R::UnboundPvc,
            "0/3 nodes are available: persistentvolumeclaim \"uploads-data\" not found.",
            "does not exist in shop",
            "describe pod",
        ),
        (
            R::NodesUnschedulable,
            "0/3 nodes are available: 3 node(s) were unschedulable.",
            "cordoned",
            "pressure",
        ),
        (
            R::NodesUnschedulable,
            "0/5 nodes are available: 2 node(s) were not ready, 3 node(s) had memory pressure.",
            "not ready or under pressure",
            "cordoned",
        ),
    ];

    /// One golden per sub-case: the next step says what the quoted text shows, and never the
    /// advice of another sub-case.
    #[test]
    fn each_sub_case_gets_its_own_next_step() {
        for (r, message, want, never) in SUB_CASES {
            let step = blocker_next_step(*r, message, &T);
            assert!(step.contains(want), "{message}\n  gave: {step}");
            assert!(!step.contains(never), "{message}\n  gave: {step}");
        }
    }
}
