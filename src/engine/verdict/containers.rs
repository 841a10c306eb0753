//! Containers and their builds: which build each container of the template is judged against,
//! and whether the digests its pods run match the digest that build pushed.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::super::builds::{Build, BuildStatus, DigestSource};
use super::super::image::{Digest, ImageRef};
use super::super::rollout::Rollout;
use super::super::view::{ContainerSpec, ContainerState, PodInfo};
use super::wording::{dest_names, fmt_ts};
use super::{BuildReport, ContainerVerdict, LinkBuilds, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DigestJudgement {
    /// No build known for the image.
    NoBuild,
    Match,
    Mismatch,
    AwaitingRollout,
    /// A build is known but its digest or the running digest cannot be compared.
    Unavailable,
}

pub(super) struct ContainerJudgement {
    pub(super) report: ContainerVerdict,
    pub(super) build: Option<Build>,
    pub(super) digest: DigestJudgement,
    pub(super) deciding_failed: Option<Box<Build>>,
    pub(super) deciding_running: Option<Build>,
}

pub(super) fn judge_container(
    c: &ContainerSpec,
    builds: &[Build],
    ro: &Rollout,
    pods: &[&PodInfo],
    policy: &Policy,
    now: Timestamp,
    evidence: &mut Vec<String>,
) -> ContainerJudgement {
    let image = ImageRef::parse(&c.image).ok();
    // running digests: every non-terminating pod's status for this container
    let mut running: BTreeSet<Digest> = BTreeSet::new();
    let mut local_ids = 0;
    for p in pods {
        if let Some(s) = p.statuses.iter().find(|s| s.name == c.name) {
            if !matches!(s.state, ContainerState::Running { .. }) && s.image_id_raw.is_empty() {
                continue;
            }
            match s.image_id().repo_digest() {
                Some(d) => {
                    running.insert(d.clone());
                    evidence.push(format!(
                        "pod {} container {}: imageID {}",
                        p.meta.full_name(),
                        c.name,
                        s.image_id_raw
                    ));
                }
                None if !s.image_id_raw.is_empty() => {
                    local_ids += 1;
                    evidence.push(format!(
                        "pod {} container {}: imageID {} is a node-local image ID, not a registry digest",
                        p.meta.full_name(),
                        c.name,
                        s.image_id_raw
                    ));
                }
                None => {}
            }
        }
    }
    let mut report = ContainerVerdict {
        name: c.name.clone(),
        image: c.image.clone(),
        build: None,
        running_digests: running.iter().map(|d| d.to_string()).collect(),
        digest_match: None,
    };
    let Some(image) = image else {
        return ContainerJudgement {
            report,
            build: None,
            digest: DigestJudgement::NoBuild,
            deciding_failed: None,
            deciding_running: None,
        };
    };
    let repo = image.repository();
    let name = image.name();
    let exact = |b: &&Build| {
        !b.no_push
            && if image.tag.is_some() {
                b.pushes_name(&name)
            } else {
                b.pushes_repository(&repo)
            }
    };
    let newest = |it: &mut dyn Iterator<Item = &Build>| -> Option<Build> {
        it.max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.pod.cmp(&b.pod)))
            .cloned()
    };
    let build = newest(&mut builds.iter().filter(exact));
    // Newer builds of the same repository under other tags.
    let related: Vec<&Build> = builds
        .iter()
        .filter(|b| !exact(b) && !b.no_push && b.pushes_repository(&repo))
        .filter(|b| build.as_ref().is_none_or(|x| b.started_at > x.started_at))
        .collect();
    for b in &related {
        evidence.push(format!(
            "build {} of {} ({}) is newer, in the same repository{}",
            b.pod_ref(),
            dest_names(b),
            b.status.as_str(),
            if policy.link_builds == LinkBuilds::Exact {
                "; not linked to this deployment (--link-builds=exact)"
            } else {
                ""
            }
        ));
    }
    let linked_newest = if policy.link_builds == LinkBuilds::Repository {
        related
            .iter()
            .copied()
            .max_by(|a, b| a.started_at.cmp(&b.started_at))
            .cloned()
    } else {
        None
    };

    let mut deciding_failed = None;
    let mut deciding_running = None;
    if let Some(b) = &build {
        match b.status {
            BuildStatus::Failed => deciding_failed = Some(Box::new(b.clone())),
            BuildStatus::Running => deciding_running = Some(b.clone()),
            BuildStatus::Succeeded => {}
        }
    }
    if let Some(b) = linked_newest {
        match b.status {
            BuildStatus::Failed if deciding_failed.is_none() => deciding_failed = Some(Box::new(b)),
            BuildStatus::Running if deciding_running.is_none() => deciding_running = Some(b),
            _ => {}
        }
    }

    let Some(b) = build else {
        return ContainerJudgement {
            report,
            build: None,
            digest: DigestJudgement::NoBuild,
            deciding_failed,
            deciding_running,
        };
    };
    // evidence for the build
    match (&b.digest_source, &b.digest) {
        (Some(DigestSource::LogLine(line)), _) => evidence.push(format!("build pod {} logged: {line}", b.pod_ref())),
        (Some(DigestSource::TerminationMessage), Some(d)) => evidence.push(format!(
            "build pod {} container {} exited 0 with termination message {d}",
            b.pod_ref(),
            b.container
        )),
        (Some(DigestSource::TektonResult), Some(d)) => evidence.push(format!("build pod {} reported Tekton result IMAGE_DIGEST {d}", b.pod_ref())),
        _ => match b.status {
            BuildStatus::Succeeded => evidence.push(format!(
                "build pod {} succeeded but logged no digest (kaniko before 1.8 logs none; use --digest-file=/dev/termination-log)",
                b.pod_ref()
            )),
            BuildStatus::Failed => evidence.push(format!("build pod {} failed: {}", b.pod_ref(), b.fatal_lines.join(" | "))),
            BuildStatus::Running => evidence.push(format!("build pod {} is running", b.pod_ref())),
        },
    }
    report.build = Some(BuildReport {
        builder: b.builder,
        pod: b.pod_ref(),
        status: b.status,
        digest: b.digest.as_ref().map(|d| d.to_string()),
        finished_at: b.finished_at,
    });
    let digest = match (&b.digest, b.status) {
        (Some(built), BuildStatus::Succeeded) if !running.is_empty() => {
            let all_match = running.iter().all(|d| d == built);
            report.digest_match = Some(all_match);
            if !all_match {
                for d in running.iter().filter(|d| *d != built) {
                    if let Some(o) = builds.iter().find(|o| o.digest.as_ref() == Some(d)) {
                        evidence.push(format!(
                            "running digest {} was pushed by the older build {} at {}",
                            d.short(),
                            o.pod_ref(),
                            fmt_ts(o.finished_at)
                        ));
                    }
                }
            }
            if all_match {
                DigestJudgement::Match
            } else if ro.complete {
                let fresh = b
                    .finished_at
                    .is_none_or(|f| now.duration_since(f) < policy.rollout_grace);
                if fresh {
                    DigestJudgement::AwaitingRollout
                } else {
                    DigestJudgement::Mismatch
                }
            } else {
                DigestJudgement::Unavailable
            }
        }
        _ => {
            if local_ids > 0 || b.status == BuildStatus::Succeeded {
                DigestJudgement::Unavailable
            } else {
                DigestJudgement::NoBuild
            }
        }
    };
    ContainerJudgement {
        report,
        build: Some(b),
        digest,
        deciding_failed,
        deciding_running,
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::events::Owner;
    use crate::engine::testing::*;
    use crate::engine::verdict::{Cause, LinkBuilds, Policy, Verdict};

    /// `shop/checkout` rolled out on `n` ready pods that run digest `running`.
    fn rolled_out(n: i32, running: char) -> Cluster {
        let (_, repo) = image_of("shop", "checkout");
        let mut c = cluster(deployment("shop", "checkout").replicas(n));
        for i in 1..=n {
            c = c.pod(
                pod("shop", &format!("checkout-{i}"))
                    .ready()
                    .image_id(&repo_digest(&repo, &digest(running))),
            );
        }
        c
    }

    fn kaniko() -> BuildBuilder {
        build("shop", "kaniko-1", &image_of("shop", "checkout").0)
    }

    #[test]
    fn verified_when_every_pod_runs_the_digest_the_build_pushed() {
        let v = rolled_out(2, 'a')
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Verified, Cause::DigestMatch, Owner::None)
        );
        assert!(
            v.summary.starts_with("All 2 pods run sha256:aaaaaaaaaaaa"),
            "{}",
            v.summary
        );
        assert_eq!(v.containers[0].digest_match, Some(true));
        assert_eq!(v.next_step, None);
    }

    #[test]
    fn stale_when_the_pods_run_another_digest_after_the_grace() {
        let v = rolled_out(1, 'b')
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Stale, Cause::DigestMismatch, Owner::Platform)
        );
        assert_eq!(v.containers[0].digest_match, Some(false));
        assert_eq!(
            v.next_step.as_deref(),
            Some("kubectl rollout restart deployment/checkout -n shop")
        );
    }

    #[test]
    fn stale_is_owned_as_the_owner_table_says() {
        let mut policy = Policy::default();
        policy
            .owners
            .set("digest_mismatch", Owner::Application)
            .unwrap();
        let v = rolled_out(1, 'b')
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .judge(&policy);
        assert_eq!(
            outcome(&v),
            (Verdict::Stale, Cause::DigestMismatch, Owner::Application)
        );
    }

    #[test]
    fn awaiting_rollout_while_the_push_is_younger_than_the_grace() {
        let v = rolled_out(1, 'b')
            .image_build(kaniko().succeeded(digest('a'), ago(120)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Converging, Cause::AwaitingRollout, Owner::None)
        );
        assert!(v.summary.contains("less than 5m00s ago"), "{}", v.summary);
    }

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
    fn digest_unavailable_when_the_build_told_no_digest() {
        let v = rolled_out(1, 'a')
            .image_build(kaniko().succeeded_without_digest(ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
    }

    #[test]
    fn digest_unavailable_when_the_runtime_reports_a_node_local_image_id() {
        let local = format!("docker://{}", digest('a'));
        let v = cluster(deployment("shop", "checkout"))
            .pod(pod("shop", "checkout-1").ready().image_id(&local))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
        );
        assert!(v.evidence.iter().any(|e| e.contains("node-local image ID")));
    }

    #[test]
    fn complete_without_proof_when_no_build_is_known() {
        let v = rolled_out(2, 'a').verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::NoBuildKnown, Owner::None)
        );
        assert!(
            v.summary.contains("2 of 2 replicas available"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn scaled_to_zero_is_complete_without_proof() {
        let v = cluster(deployment("shop", "checkout").replicas(0))
            .image_build(kaniko().succeeded(digest('a'), ago(1200)))
            .verdict();
        assert_eq!(
            outcome(&v),
            (Verdict::Complete, Cause::DigestUnavailable, Owner::None)
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
