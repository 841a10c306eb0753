//! Kubernetes vocabulary the engine decides on, typed once at projection: event reasons and pod
//! phases, each with an `Other` bucket for what the engine does not read. The original text stays
//! on the object for evidence.

/// The event reasons the engine reads (kubelet, scheduler, controllers, autoscalers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventReason {
    /// kube-scheduler (and Karpenter) could not place the pod.
    FailedScheduling,
    /// cluster-autoscaler asked for a node for the pod.
    TriggeredScaleUp,
    /// cluster-autoscaler will not add a node for the pod.
    NotTriggerScaleUp,
    /// Karpenter nominated a node (claim) for the pod.
    Nominated,
    /// kubelet: a step failed (image pulls among others).
    Failed,
    /// kubelet: a container is restarting with backoff.
    BackOff,
    /// kubelet: pulling an image.
    Pulling,
    /// kubelet: the image is pulled.
    Pulled,
    /// kubelet: a probe failed.
    Unhealthy,
    /// kubelet: the image could not be inspected.
    InspectFailed,
    /// kubelet: `imagePullPolicy: Never` and the image is not on the node.
    ErrImageNeverPull,
    /// kubelet: the pod's sandbox (network namespace, CNI) could not be created.
    FailedCreatePodSandBox,
    /// kubelet: the node's network plugin is not ready.
    NetworkNotReady,
    /// kubelet: a volume could not be mounted.
    FailedMount,
    /// attach-detach controller: a volume could not be attached.
    FailedAttachVolume,
    /// ReplicaSet controller: a pod could not be created (quota, admission).
    FailedCreate,
    /// ReplicaSet controller: a pod was created.
    SuccessfulCreate,
    /// Deployment controller: the ReplicaSet could not be created.
    ReplicaSetCreateError,
    /// Anything else.
    Other,
}

impl EventReason {
    /// The reason of an event's `reason` text.
    pub fn parse(reason: &str) -> EventReason {
        use EventReason as R;
        match reason {
            "FailedScheduling" => R::FailedScheduling,
            "TriggeredScaleUp" => R::TriggeredScaleUp,
            "NotTriggerScaleUp" => R::NotTriggerScaleUp,
            "Nominated" => R::Nominated,
            "Failed" => R::Failed,
            "BackOff" => R::BackOff,
            "Pulling" => R::Pulling,
            "Pulled" => R::Pulled,
            "Unhealthy" => R::Unhealthy,
            "InspectFailed" => R::InspectFailed,
            "ErrImageNeverPull" => R::ErrImageNeverPull,
            "FailedCreatePodSandBox" => R::FailedCreatePodSandBox,
            "NetworkNotReady" => R::NetworkNotReady,
            "FailedMount" => R::FailedMount,
            "FailedAttachVolume" => R::FailedAttachVolume,
            "FailedCreate" => R::FailedCreate,
            "SuccessfulCreate" => R::SuccessfulCreate,
            "ReplicaSetCreateError" => R::ReplicaSetCreateError,
            _ => R::Other,
        }
    }
}

/// A pod's `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PodPhase {
    /// Accepted, not every container started (also: no phase reported yet).
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    /// The phase of a `status.phase` text; an empty or unknown text is `Pending`/`Unknown`.
    pub fn parse(phase: &str) -> PodPhase {
        match phase {
            "" | "Pending" => PodPhase::Pending,
            "Running" => PodPhase::Running,
            "Succeeded" => PodPhase::Succeeded,
            "Failed" => PodPhase::Failed,
            _ => PodPhase::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_phases_have_an_other_bucket() {
        assert_eq!(
            EventReason::parse("FailedScheduling"),
            EventReason::FailedScheduling
        );
        assert_eq!(EventReason::parse("Scheduled"), EventReason::Other);
        assert_eq!(EventReason::parse("failedscheduling"), EventReason::Other);
        assert_eq!(PodPhase::parse("Failed"), PodPhase::Failed);
        assert_eq!(PodPhase::parse(""), PodPhase::Pending);
        assert_eq!(PodPhase::parse("Evicted?"), PodPhase::Unknown);
    }
}
