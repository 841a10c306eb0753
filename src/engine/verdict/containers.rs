//! Containers and their builds: which build each container of the template is judged against,
//! which builds decide the verdict, and whether the digests its pods run match the digest that
//! build pushed.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::super::builds::{Build, BuildStatus, without_digest_for_good};
use super::super::image::{Digest, ImageRef};
use super::super::registry;
use super::super::view::{ClusterView, ContainerSpec, ContainerState, PodInfo};
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
struct Running<'v> {
    /// Registry digests, comparable with a pushed digest.
    digests: BTreeSet<Digest>,
    /// Pods that report a registry digest, by the digest each reports.
    pods_with_digest: Vec<Digest>,
    /// The pods of `pods_with_digest`, in the same order.
    pods: Vec<&'v PodInfo>,
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
#[allow(
    clippy::too_many_arguments,
    reason = "the judgement's inputs, each read once; a struct would only rename them"
)]
pub(super) fn judge_container<'a>(
    view: &ClusterView,
    c: &ContainerSpec,
    builds: &'a [Build],
    complete: bool,
    pods: &[&PodInfo],
    policy: &Policy,
    now: Timestamp,
    evidence: &mut Vec<String>,
) -> ContainerJudgement<'a> {
    let mut running = running_digests(c, pods, evidence);
    let mut j = ContainerJudgement {
        report: ContainerVerdict {
            name: c.name.to_string(),
            image: c.image.to_string(),
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
        // No reference: say what the registry answered, when it was asked.
        if let Some(name) = registry::lookup_name(&image)
            && let Some(e) = view
                .tag_state(&name)
                .and_then(|s| wording::registry_state_evidence(&name, s))
        {
            evidence.push(e);
        }
        return j;
    };
    evidence.push(wording::build_evidence(b));
    // A build that finished without a readable digest: the registry's answer for the tag, when
    // there is one, is the reference.
    let b = match builds
        .iter()
        .filter(|_| without_digest_for_good(view, b) && image.digest.is_none())
        .find(|r| r.is_registry() && r.pushes_name(&image.name()))
    {
        Some(r) => {
            evidence.push(wording::build_evidence(r));
            r
        }
        None => b,
    };
    if let Some(built) = &b.digest {
        match_through_indexes(view, built, &mut running, evidence);
        j.report.running_digests = running.digests.iter().map(|d| d.to_string()).collect();
    }
    j.report.build = Some(build_report(b));
    (j.digest, j.report.digest_match) =
        judge_digest(b, &running, builds, complete, policy, now, evidence);
    j.build = Some(b);
    j
}

/// Multi-arch (DESIGN §7): a pod whose digest differs from the reference runs it all the same
/// when one of the two is an image index that lists the other for the pod's node platform
/// (`kubernetes.io/os`, `kubernetes.io/arch`). containerd reports the index it resolved the tag
/// to, CRI-O the per-platform manifest. Such a pod's digest counts as the reference's, and the
/// evidence says "via index".
fn match_through_indexes(
    view: &ClusterView,
    built: &Digest,
    running: &mut Running<'_>,
    evidence: &mut Vec<String>,
) {
    let mut changed = false;
    for (d, p) in running.pods_with_digest.iter_mut().zip(&running.pods) {
        if d == built {
            continue;
        }
        // Unknown (no Nodes listed, the node not in the view): any platform of the index.
        let platform = node_platform(view, p);
        let (os, arch) = platform.unwrap_or(("", ""));
        let listed = |index: &Digest, member: &Digest| {
            view.manifest(index)
                .is_some_and(|m| m.lists(member, platform.map(|_| (os, arch))))
        };
        let index = if listed(built, d) {
            built.clone()
        } else if listed(d, built) {
            d.clone()
        } else {
            continue;
        };
        evidence.push(wording::index_match_evidence(p, d, built, &index, os, arch));
        *d = built.clone();
        changed = true;
    }
    if changed {
        running.digests = running.pods_with_digest.iter().cloned().collect();
    }
}

/// The platform of the node a pod runs on: its `kubernetes.io/os` and `kubernetes.io/arch`
/// labels (the `beta.` ones on old nodes).
fn node_platform<'v>(view: &'v ClusterView, p: &PodInfo) -> Option<(&'v str, &'v str)> {
    let node = view.node(p.node_name.as_deref()?)?;
    let label = |k: &str| {
        node.labels
            .get(&format!("kubernetes.io/{k}"))
            .or_else(|| node.labels.get(&format!("beta.kubernetes.io/{k}")))
            .map(String::as_str)
    };
    Some((label("os")?, label("arch")?))
}

/// The digests every non-terminating pod runs for this container.
fn running_digests<'v>(
    c: &ContainerSpec,
    pods: &[&'v PodInfo],
    evidence: &mut Vec<String>,
) -> Running<'v> {
    let mut running = Running {
        digests: BTreeSet::new(),
        pods_with_digest: Vec::new(),
        pods: Vec::new(),
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
                running.pods.push(p);
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
    // An in-cluster build of the image decides; the registry's answer only without one, and
    // never for an image pinned by digest (the pin is the reference, whatever the tag says).
    let exact = builds
        .iter()
        .filter(|b| !b.is_registry() && is_exact(b))
        .max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.pod.cmp(&b.pod)))
        .or_else(|| {
            builds
                .iter()
                .filter(|_| image.digest.is_none())
                .find(|b| b.is_registry() && is_exact(b))
        });
    let related: Vec<&Build> = builds
        .iter()
        .filter(|b| !b.is_registry())
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
        source: if b.is_registry() { "registry" } else { "build" },
        pod: (!b.is_registry()).then(|| b.pod_ref()),
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
        // The same digest pushed to another repository is not this image's older build.
        let older = builds.iter().find(|o| {
            o.digest.as_ref() == Some(d)
                && b.destination_repos.iter().any(|r| o.pushes_repository(r))
        });
        if let Some(o) = older {
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

    mod registry {
        use crate::engine::events::Owner;
        use crate::engine::image::Digest;
        use crate::engine::registry::{
            IndexEntry, ManifestKind, Platform, RegistryResult, TagAnswer,
        };
        use crate::engine::testing::*;
        use crate::engine::verdict::{Cause, Verdict};
        use crate::engine::view::Change;

        fn tag() -> String {
            image_of("shop", "checkout").0
        }

        #[test]
        fn pods_running_what_the_tag_points_to_are_verified_by_the_registry() {
            let v = rolled_out(2, 'a')
                .registry(&tag(), digest('a'), Some(ago(3600)))
                .verdict();
            assert_eq!(
                outcome(&v),
                (Verdict::Verified, Cause::DigestMatch, Owner::None)
            );
            let b = v.containers[0].build.as_ref().unwrap();
            assert_eq!(
                (b.builder, b.source, b.pod.as_deref()),
                ("registry", "registry", None)
            );
            assert_eq!(v.containers[0].digest_match, Some(true));
            assert!(
                v.summary.contains("registry.example.com answers for"),
                "{}",
                v.summary
            );
            assert!(
                v.evidence
                    .iter()
                    .any(|e| e.starts_with("registry registry.example.com answered")
                        && e.contains("the image's created time")),
                "{:?}",
                v.evidence
            );
        }

        #[test]
        fn a_moved_tag_is_awaiting_rollout_within_the_grace_then_stale() {
            let fresh = rolled_out(1, 'a')
                .registry(&tag(), digest('b'), Some(ago(60)))
                .verdict();
            assert_eq!(
                outcome(&fresh),
                (Verdict::Converging, Cause::AwaitingRollout, Owner::None)
            );
            assert!(fresh.summary.contains("points"), "{}", fresh.summary);
            // Built after the pods started, longer ago than the grace: stale.
            let old = rolled_out(1, 'a')
                .registry(&tag(), digest('b'), Some(ago(400)))
                .verdict();
            assert_eq!(old.verdict, Verdict::Stale, "{}", old.summary);
            // Built before the pods started (a rollback, a re-tag, a reproducible build dated
            // 1970): the tag moved when first seen, now: within the grace.
            for created in [ago(3600), "1970-01-01T00:00:00Z".parse().unwrap()] {
                let v = rolled_out(1, 'a')
                    .registry(&tag(), digest('b'), Some(created))
                    .verdict();
                assert_eq!(v.cause, Cause::AwaitingRollout, "{created}: {}", v.summary);
            }
            assert_eq!(old.containers[0].digest_match, Some(false));
            assert!(
                old.next_step
                    .as_deref()
                    .unwrap()
                    .contains("rollout restart"),
                "{:?}",
                old.next_step
            );
            // No created time (or one in the future): the tag moved when first seen, which
            // for this first answer is now: within the grace.
            for created in [None, Some(now() + jiff::SignedDuration::from_hours(2))] {
                let v = rolled_out(1, 'a')
                    .registry(&tag(), digest('b'), created)
                    .verdict();
                assert_eq!(v.cause, Cause::AwaitingRollout, "{created:?}");
            }
        }

        #[test]
        fn a_registry_that_cannot_be_asked_changes_nothing() {
            let failed = |result| Change::RegistryAnswer {
                name: tag(),
                answer: TagAnswer::Failed {
                    result,
                    reason: "HTTP 401".into(),
                    answered_at: now(),
                },
            };
            for result in RegistryResult::ALL {
                let v = rolled_out(1, 'a').change(failed(result)).verdict();
                assert_eq!(
                    outcome(&v),
                    (Verdict::Complete, Cause::NoBuildKnown, Owner::None),
                    "{result:?}"
                );
                assert!(
                    v.evidence
                        .iter()
                        .any(|e| e.contains("could not be asked about")),
                    "{:?}",
                    v.evidence
                );
            }
            // A refresh that fails keeps the last good answer: verified stays verified.
            let v = rolled_out(1, 'a')
                .registry(&tag(), digest('a'), Some(ago(3600)))
                .change(failed(RegistryResult::Error))
                .verdict();
            assert_eq!(v.verdict, Verdict::Verified, "{:?}", v.evidence);
            assert!(
                v.evidence
                    .iter()
                    .any(|e| e.contains("so that answer stands")),
                "{:?}",
                v.evidence
            );
        }

        #[test]
        fn an_in_cluster_build_decides_before_the_registry() {
            let v = rolled_out(1, 'a')
                .image_build(kaniko().succeeded(digest('a'), ago(600)))
                .registry(&tag(), digest('b'), Some(ago(3600)))
                .verdict();
            assert_eq!(
                outcome(&v),
                (Verdict::Verified, Cause::DigestMatch, Owner::None)
            );
            assert_eq!(v.containers[0].build.as_ref().unwrap().builder, "kaniko");
        }

        fn index(arm64: &Digest, amd64: &Digest) -> ManifestKind {
            let p = |arch: &str| {
                Some(Platform {
                    os: "linux".into(),
                    architecture: arch.into(),
                    variant: String::new(),
                })
            };
            ManifestKind::Index(vec![
                IndexEntry {
                    digest: amd64.clone(),
                    platform: p("amd64"),
                },
                IndexEntry {
                    digest: arm64.clone(),
                    platform: p("arm64"),
                },
            ])
        }

        /// CRI-O reports the per-platform manifest of a multi-arch tag: a match through the
        /// index for the node's platform only.
        #[test]
        fn a_per_platform_manifest_matches_its_index_on_that_platform() {
            let (_, repo) = image_of("shop", "checkout");
            let on = |arch: &str| {
                cluster(deployment("shop", "checkout").replicas(1))
                    .node(
                        node("node-1")
                            .label("kubernetes.io/os", "linux")
                            .label("kubernetes.io/arch", arch),
                    )
                    .pod(
                        pod("shop", "checkout-1")
                            .ready()
                            .image_id(&repo_digest(&repo, &digest('2'))),
                    )
                    .change(Change::RegistryAnswer {
                        name: tag(),
                        answer: TagAnswer::Resolved {
                            digest: digest('f'),
                            answered_at: now(),
                            // Built after the pod started, longer ago than the grace.
                            created: Some(ago(400)),
                            manifest: Some(index(&digest('2'), &digest('1'))),
                        },
                    })
                    .verdict()
            };
            let arm = on("arm64");
            assert_eq!(
                outcome(&arm),
                (Verdict::Verified, Cause::DigestMatch, Owner::None),
                "{:?}",
                arm.evidence
            );
            assert!(
                arm.evidence
                    .iter()
                    .any(|e| e.contains("via index sha256:ffff")),
                "{:?}",
                arm.evidence
            );
            // On an amd64 node that manifest is not the index's: the pod runs another image.
            assert_eq!(on("amd64").verdict, Verdict::Stale);
        }

        /// The other way round: a build pushed the per-platform manifest (kaniko), the tag was
        /// then put on an index holding it, and containerd reports the index: the index's
        /// manifest (read for the running digest) lists the build's for the node's platform.
        #[test]
        fn a_running_index_that_lists_the_built_manifest_matches() {
            let (_, repo) = image_of("shop", "checkout");
            let v = cluster(deployment("shop", "checkout").replicas(1))
                .node(
                    node("node-1")
                        .label("kubernetes.io/os", "linux")
                        .label("kubernetes.io/arch", "amd64"),
                )
                .pod(
                    pod("shop", "checkout-1")
                        .ready()
                        .image_id(&repo_digest(&repo, &digest('9'))),
                )
                .image_build(kaniko().succeeded(digest('1'), ago(3600)))
                .change(Change::RegistryManifest {
                    digest: digest('9'),
                    manifest: index(&digest('2'), &digest('1')),
                })
                .verdict();
            assert_eq!(
                outcome(&v),
                (Verdict::Verified, Cause::DigestMatch, Owner::None),
                "{:?}",
                v.evidence
            );
            assert!(
                v.evidence
                    .iter()
                    .any(|e| e.contains("an index whose linux/amd64 manifest is")),
                "{:?}",
                v.evidence
            );
        }

        /// Without the node's platform (--no-nodes, a node not listed), a manifest the index
        /// lists for any platform matches; with it, every variant of os/arch counts (nodes do
        /// not label their variant: linux/arm v6 and v7 both).
        #[test]
        fn an_unknown_platform_or_a_variant_still_matches_through_the_index() {
            let (_, repo) = image_of("shop", "checkout");
            let answer = |manifest| Change::RegistryAnswer {
                name: tag(),
                answer: TagAnswer::Resolved {
                    digest: digest('f'),
                    answered_at: now(),
                    created: Some(ago(3600)),
                    manifest: Some(manifest),
                },
            };
            let no_node = cluster(deployment("shop", "checkout").replicas(1))
                .pod(
                    pod("shop", "checkout-1")
                        .ready()
                        .image_id(&repo_digest(&repo, &digest('2'))),
                )
                .change(answer(index(&digest('2'), &digest('1'))))
                .verdict();
            assert_eq!(no_node.verdict, Verdict::Verified, "{:?}", no_node.evidence);
            assert!(
                no_node.evidence.iter().any(|e| e.contains("a manifest of")),
                "{:?}",
                no_node.evidence
            );
            let p = |variant: &str| {
                Some(Platform {
                    os: "linux".into(),
                    architecture: "arm".into(),
                    variant: variant.into(),
                })
            };
            let arm = ManifestKind::Index(vec![
                IndexEntry {
                    digest: digest('6'),
                    platform: p("v6"),
                },
                IndexEntry {
                    digest: digest('7'),
                    platform: p("v7"),
                },
            ]);
            let v7 = cluster(deployment("shop", "checkout").replicas(1))
                .node(
                    node("node-1")
                        .label("kubernetes.io/os", "linux")
                        .label("kubernetes.io/arch", "arm"),
                )
                .pod(
                    pod("shop", "checkout-1")
                        .ready()
                        .image_id(&repo_digest(&repo, &digest('7'))),
                )
                .change(answer(arm))
                .verdict();
            assert_eq!(v7.verdict, Verdict::Verified, "{:?}", v7.evidence);
        }

        /// An image pinned by digest (`repo:tag@sha256:…`) runs its pin: what the tag points
        /// to now is not its reference.
        #[test]
        fn a_pinned_image_is_not_judged_by_its_tag() {
            let (image, repo) = image_of("shop", "checkout");
            let mut d = deployment("shop", "checkout").replicas(1);
            d = d.image(&format!("{image}@{}", digest('a')));
            let v = cluster(d)
                .pod(
                    pod("shop", "checkout-1")
                        .ready()
                        .image_id(&repo_digest(&repo, &digest('a'))),
                )
                .registry(&tag(), digest('b'), Some(ago(3600)))
                .verdict();
            assert_eq!(v.cause, Cause::NoBuildKnown, "{}", v.summary);
        }
    }
}
