//! Which containers are builds: the registry of builders, asked at projection time (which
//! containers keep their argv) and when builds are collected. A leaf apart from the builders
//! themselves, so the view can use it. Adding a builder: a file beside `kaniko.rs`
//! implementing [`Builder`], one entry in [`BUILDERS`] and a [`super::BuilderKind`] variant.

use super::buildah::Buildah;
use super::builder::Builder;
use super::buildkit::Buildkit;
use super::kaniko::Kaniko;

/// The builders kube-verdict knows, in the order they are tried.
pub static BUILDERS: &[&dyn Builder] = &[&Kaniko, &Buildkit, &Buildah];

/// True when some builder may own this container: projection keeps its argv.
pub fn may_be_build(image: &str, argv: &[String]) -> bool {
    BUILDERS.iter().any(|b| b.may_be_build(image, argv))
}

/// True when some builder reads this environment variable as "do not push".
pub fn env_disables_push(name: &str, value: &str) -> bool {
    BUILDERS.iter().any(|b| b.env_disables_push(name, value))
}
