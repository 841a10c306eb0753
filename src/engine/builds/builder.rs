//! The builder abstraction: how a builder recognises its containers, what they push, whether
//! the push is disabled. A leaf: it reads only image names and argv.

use serde::Serialize;

/// The status of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    /// Not finished: the build pod is pending or running.
    Running,
    /// Finished and pushed.
    Succeeded,
    /// Finished without pushing the image.
    Failed,
}

impl BuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::Running => "running",
            BuildStatus::Succeeded => "succeeded",
            BuildStatus::Failed => "failed",
        }
    }
}

/// The builders kube-verdict recognises; the `builder` label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuilderKind {
    /// Kaniko, upstream and its maintained forks.
    Kaniko,
    /// BuildKit's buildctl (and buildctl-daemonless.sh).
    Buildkit,
    /// Buildah (`buildah push`).
    Buildah,
    /// A Tekton step or TaskRun reporting image results (`IMAGE_URL`/`IMAGE_DIGEST`, `IMAGES`).
    Tekton,
    /// A Shipwright BuildRun (`status.output.digest`).
    Shipwright,
    /// An OpenShift Build (`status.output.to.imageDigest`).
    OpenShift,
    /// Not a builder: the image's registry answered what the tag points to (DESIGN §7), the
    /// reference for containers no in-cluster build pushes.
    Registry,
}

impl BuilderKind {
    /// The `builder` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            BuilderKind::Kaniko => "kaniko",
            BuilderKind::Buildkit => "buildkit",
            BuilderKind::Buildah => "buildah",
            BuilderKind::Tekton => "tekton",
            BuilderKind::Shipwright => "shipwright",
            BuilderKind::OpenShift => "openshift",
            BuilderKind::Registry => "registry",
        }
    }

    /// Why a finished build of this builder may show no digest, and how to make it show one
    /// (evidence for `digest_unavailable`).
    pub fn no_digest_hint(self) -> &'static str {
        match self {
            BuilderKind::Kaniko => {
                "kaniko 0.11 to 1.7 log no pushed digest, unlike 0.1 to 0.10 and 1.8 on; use --digest-file=/dev/termination-log"
            }
            BuilderKind::Buildkit => {
                "buildkitd v0.28.0 logs no push lines; write --metadata-file /dev/termination-log, or use v0.29 on"
            }
            BuilderKind::Buildah => {
                "buildah logs no pushed digest; push with --digestfile /dev/termination-log or a Tekton IMAGE_DIGEST result"
            }
            BuilderKind::Tekton => "the step reported no IMAGE_DIGEST result",
            BuilderKind::Shipwright => "the BuildRun reported no status.output.digest",
            BuilderKind::OpenShift => {
                "the Build reported no status.output.to.imageDigest (the registry answered no digest it understood)"
            }
            BuilderKind::Registry => "the registry answered no digest",
        }
    }
}

/// A builder recognises its build containers (by image and argv) and reads their destinations.
pub trait Builder: Sync {
    /// Which builder this is.
    fn kind(&self) -> BuilderKind;
    /// Cheap test at projection time: could this container be one of this builder's builds?
    /// Its argv is kept only when some builder says yes.
    fn may_be_build(&self, image: &str, argv: &[String]) -> bool;
    /// The destinations this container builds and pushes, if it is one of this builder's.
    fn destinations(&self, image: &str, argv: &[String]) -> Option<Vec<String>>;
    /// True when the container's args disable the push (default: they cannot).
    fn no_push(&self, _argv: &[String]) -> bool {
        false
    }
    /// True when this environment variable disables the push (read at projection time;
    /// default: none does).
    fn env_disables_push(&self, _name: &str, _value: &str) -> bool {
        false
    }
    /// True when the build process exits right after its last push, so a logged push for every
    /// destination proves it finished (kaniko), even before its pod reports so (default: no,
    /// the pod's termination says when it finished).
    fn done_after_last_push(&self) -> bool {
        false
    }
}
