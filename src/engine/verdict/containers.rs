//! Containers and their builds: which build each container of the template is judged against,
//! which builds decide the verdict, and whether the digests its pods run match the digest that
//! build pushed.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::super::builds::{Build, BuildStatus};
use super::super::image::{Digest, ImageRef};
use super::super::view::{ContainerSpec, ContainerState, PodInfo};
use super::wording;
use super::{BuildReport, Cause, ContainerVerdict, Finding, LinkBuilds, Outcome, Policy, Verdict};

/// How the digests one container's pods run compare with its build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DigestJudgement {
    /// No build known for the image.
    NoBuild,
    /// Every pod runs the digest the build pushed.
    Match,
    /// The pods run another digest, and the build pushed longer ago than the rollout grace.
    Mismatch,
    /// The pods run another digest, but the build pushed within the rollout grace.
    AwaitingRollout,
    /// A build is known but its digest or the running digest cannot be compared.
    Unavailable,
    /// Partial proof (DESIGN §5): every comparable digest is the build's, but some pods report
    /// a node-local image ID (CRI-O after a restart) that proves nothing.
    Partial {
        /// Pods that report the build's digest.
        proven: usize,
        /// Pods that report a node-local image ID, or none at all.
        local: usize,
    },
}

/// One container of the template, judged against the builds of its image (borrowed from the
/// caller's list).
pub(super) struct ContainerJudgement<'a> {
    pub(super) report: ContainerVerdict,
    /// The newest build of exactly this image.
    pub(super) build: Option<&'a Build>,
    pub(super) digest: DigestJudgement,
    /// A failed build that decides the verdict: the exact build, else a linked newer one.
    pub(super) deciding_failed: Option<&'a Build>,
    /// A running build that decides the verdict: the exact build, else a linked newer one.
    pub(super) deciding_running: Option<&'a Build>,
}

/// What one container's pods run.
struct Running {
    /// Registry digests, comparable with a pushed digest.
    digests: BTreeSet<Digest>,
    /// Pods that report a registry digest, by the digest each reports.
    pods_with_digest: Vec<Digest>,
    /// Containers that report a node-local image ID instead, or none although running.
    local_ids: usize,
}

/// The builds of one image.
struct ImageBuilds<'a> {
    /// The newest build of exactly this image (never a `--no-push` one).
    exact: Option<&'a Build>,
    /// Newer builds of the same repository under other tags.
    related: Vec<&'a Build>,
    /// The newest of `related`, when `--link-builds=repository` lets them decide.
    linked: Option<&'a Build>,
}

impl<'a> ImageBuilds<'a> {
    /// The failed and the running build that decide the verdict: the exact build when it has
    /// that status, else the linked one when it has.
    fn deciding(&self) -> (Option<&'a Build>, Option<&'a Build>) {
        let with = |status: BuildStatus| {
            self.exact
                .filter(|b| b.status == status)
                .or(self.linked.filter(|b| b.status == status))
        };
        (with(BuildStatus::Failed), with(BuildStatus::Running))
    }
}

/// Judges one container of the template: which build it is judged against, which builds decide
/// the verdict, and how its running digests compare. Appends its evidence in the order found.
pub(super) fn judge_container<'a>(
    c: &ContainerSpec,
    builds: &'a [Build],
    complete: bool,
    pods: &[&PodInfo],
    policy: &Policy,
    now: Timestamp,
    evidence: &mut Vec<String>,
) -> ContainerJudgement<'a> {
    let running = running_digests(c, pods, evidence);
    let mut j = ContainerJudgement {
        report: ContainerVerdict {
            name: c.name.clone(),
            image: c.image.clone(),
            build: None,
            running_digests: running.digests.iter().map(|d| d.to_string()).collect(),
            digest_match: None,
        },
        build: None,
        digest: DigestJudgement::NoBuild,
        deciding_failed: None,
        deciding_running: None,
    };
    let Ok(image) = ImageRef::parse(&c.image) else {
        return j;
    };
    let found = image_builds(&image, builds, policy.link_builds);
    for b in &found.related {
        evidence.push(wording::related_build_evidence(b, policy.link_builds));
    }
    (j.deciding_failed, j.deciding_running) = found.deciding();
    let Some(b) = found.exact else {
        return j;
    };
    evidence.push(wording::build_evidence(b));
    j.report.build = Some(build_report(b));
    (j.digest, j.report.digest_match) =
        judge_digest(b, &running, builds, complete, policy, now, evidence);
    j.build = Some(b);
    j
}

/// The digests every non-terminating pod runs for this container.
fn running_digests(c: &ContainerSpec, pods: &[&PodInfo], evidence: &mut Vec<String>) -> Running {
    let mut running = Running {
        digests: BTreeSet::new(),
        pods_with_digest: Vec::new(),
        local_ids: 0,
    };
    for p in pods {
        let Some(s) = p.statuses.iter().find(|s| s.name == c.name) else {
            continue;
        };
        let running_now = matches!(s.state, ContainerState::Running { .. });
        if !running_now && s.image_id_raw.is_empty() {
            continue;
        }
        match s.image_id().repo_digest() {
            Some(d) => {
                running.digests.insert(d.clone());
                running.pods_with_digest.push(d.clone());
                evidence.push(wording::running_digest_evidence(p, s));
            }
            // A node-local ID, or none although the container runs: nothing proven for it.
            None => {
                running.local_ids += 1;
                evidence.push(wording::local_image_id_evidence(p, s));
            }
        }
    }
    running
}

/// The newest build of exactly this image, and the newer builds of its repository.
fn image_builds<'a>(image: &ImageRef, builds: &'a [Build], link: LinkBuilds) -> ImageBuilds<'a> {
    let repo = image.repository();
    let name = image.name();
    let is_exact = |b: &Build| {
        !b.no_push
            && if image.tag.is_some() {
                b.pushes_name(&name)
            } else {
                b.pushes_repository(&repo)
            }
    };
    let exact = builds
        .iter()
        .filter(|b| is_exact(b))
        .max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.pod.cmp(&b.pod)));
    let related: Vec<&Build> = builds
        .iter()
        .filter(|b| !is_exact(b) && !b.no_push && b.pushes_repository(&repo))
        .filter(|b| exact.is_none_or(|x| b.started_at > x.started_at))
        .collect();
    let linked = match link {
        LinkBuilds::Repository => related
            .iter()
            .copied()
            .max_by(|a, b| a.started_at.cmp(&b.started_at)),
        LinkBuilds::Exact => None,
    };
    ImageBuilds {
        exact,
        related,
        linked,
    }
}

fn build_report(b: &Build) -> BuildReport {
    BuildReport {
        builder: b.builder.as_str(),
        pod: b.pod_ref(),
        status: b.status,
        digest: b.digest.as_ref().map(|d| d.to_string()),
        finished_at: b.finished_at,
    }
}

/// Compares the running digests with the build's: the judgement, and whether all match when
/// they could be compared. A mismatch counts only once the rollout is complete, and only once
/// the build pushed longer ago than the rollout grace.
fn judge_digest(
    b: &Build,
    running: &Running,
    builds: &[Build],
    complete: bool,
    policy: &Policy,
    now: Timestamp,
    evidence: &mut Vec<String>,
) -> (DigestJudgement, Option<bool>) {
    let built = match (&b.digest, b.status) {
        (Some(built), BuildStatus::Succeeded)
            if !running.digests.is_empty() || running.local_ids > 0 =>
        {
            built
        }
        _ if running.local_ids > 0 || b.status == BuildStatus::Succeeded => {
            return (DigestJudgement::Unavailable, None);
        }
        _ => return (DigestJudgement::NoBuild, None),
    };
    let all_match = running.digests.iter().all(|d| d == built);
    for d in running.digests.iter().filter(|d| *d != built) {
        if let Some(o) = builds.iter().find(|o| o.digest.as_ref() == Some(d)) {
            evidence.push(wording::older_build_evidence(d, o));
        }
    }
    let fresh = || {
        b.finished_at
            .is_none_or(|f| now.duration_since(f) < policy.rollout_grace)
    };
    let judgement = if all_match && running.local_ids > 0 {
        // Partial proof is not proof: not judged, and the summary says how far it goes.
        let proven = running
            .pods_with_digest
            .iter()
            .filter(|d| *d == built)
            .count();
        return (
            DigestJudgement::Partial {
                proven,
                local: running.local_ids,
            },
            None,
        );
    } else if all_match {
        DigestJudgement::Match
    } else if !complete {
        DigestJudgement::Unavailable
    } else if fresh() {
        DigestJudgement::AwaitingRollout
    } else {
        DigestJudgement::Mismatch
    };
    (judgement, Some(all_match))
}

/// Step: a build decides before any pod does. A failed build of the image means the deploy
/// the platform attempted cannot happen; a running one, that the new image does not exist yet.
pub(super) fn judge_build_state<'a>(judged: &[ContainerJudgement<'a>]) -> Option<Outcome<'a>> {
    if let Some(b) = judged.iter().find_map(|j| j.deciding_failed) {
        return Some(Outcome::new(
            Verdict::Failed,
            Cause::BuildFailed,
            Finding::BuildFailed(b),
        ));
    }
    let b = judged.iter().find_map(|j| j.deciding_running)?;
    Some(Outcome::new(
        Verdict::Converging,
        Cause::BuildRunning,
        Finding::BuildRunning(b),
    ))
}

#[cfg(test)]
mod tests {
    use crate::engine::events::Owner;
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, LinkBuilds, Policy, Verdict};

    #[test]
    fn a_running_build_is_converging() {
        let v = rolled_out(1, 'a').image_build(kaniko()).verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::BuildRunning, Owner::None)
        );
        assert!(v.summary.contains("shop/kaniko-1"), "{}", v.summary);
    }

    #[test]
    fn a_failed_build_is_failed_and_owned_by_the_application() {
        let v = rolled_out(1, 'a')
            .image_build(kaniko().failed("error building image: exit status 2", ago(300)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Failed, Cause::BuildFailed, Owner::Application)
        );
        assert!(
            v.summary.ends_with(": error building image: exit status 2"),
            "{}",
            v.summary
        );
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl logs -n shop kaniko-1 -c kaniko")
        );
    }

    #[test]
    fn a_newer_failed_build_of_another_tag_decides_only_when_builds_are_linked() {
        let (_, repo) = image_of("shop", "checkout");
        let c = rolled_out(1, 'a')
            .image_build(
                kaniko()
                    .started(ago(2000))
                    .succeeded(digest('a'), ago(1800)),
            )
            .image_build(
                build("shop", "kaniko-2", &format!("{repo}:1.9.0"))
                    .started(ago(600))
                    .failed("error pushing image: 401", ago(500)),
            );
        let exact = c.verdict();
        assert_eq!(
            outcome(&exact),
            (Verdict::Verified, Cause::DigestMatch, Owner::None)
        );
        assert!(exact.evidence.iter().any(|e| e.contains("not linked")));
        let linked = c.judge(&Policy {
            link_builds: LinkBuilds::Repository,
            ..Policy::default()
        });
        assert_eq!(
            outcome(&linked),
            (Verdict::Failed, Cause::BuildFailed, Owner::Application)
        );
    }
}
