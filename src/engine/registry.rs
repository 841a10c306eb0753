//! The registry as the second source of truth (DESIGN §7): what an image's registry answered
//! for a tag, held per `registry/path:tag`, and what an image index holds, held per digest. A
//! leaf: the live source asks the registry and sends these facts as `Change`s; the view keeps
//! them; `builds::collect_builds` turns each resolved tag into a reference [`super::builds::Build`]
//! with `builder="registry"`, used only for containers no in-cluster build pushes.
//!
//! Formats: the OCI distribution spec (`HEAD /v2/<name>/manifests/<tag>` answers the digest in
//! `Docker-Content-Digest`), the OCI image-spec index (`manifests[].platform.{os,architecture,
//! variant}`) and image config (`created`, RFC 3339).

use jiff::{SignedDuration, Timestamp};

use super::image::{Digest, ImageRef};

/// The outcome of one registry request: the `result` label of
/// `kube_verdict_registry_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistryResult {
    /// Answered.
    Ok,
    /// 401 or 403: no credentials, or the wrong ones.
    Unauthorized,
    /// 404 (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`): the tag or the repository does not exist.
    NotFound,
    /// 429 (`TOOMANYREQUESTS`): throttled.
    RateLimited,
    /// Anything else: network, TLS, timeout, 5xx, a malformed answer, a redirect loop.
    Error,
}

impl RegistryResult {
    /// Every value, for documentation and tests.
    pub const ALL: [RegistryResult; 5] = [
        RegistryResult::Ok,
        RegistryResult::Unauthorized,
        RegistryResult::NotFound,
        RegistryResult::RateLimited,
        RegistryResult::Error,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryResult::Ok => "ok",
            RegistryResult::Unauthorized => "unauthorized",
            RegistryResult::NotFound => "not_found",
            RegistryResult::RateLimited => "rate_limited",
            RegistryResult::Error => "error",
        }
    }
}

/// A platform of an image index entry (OCI image-spec `platform`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `windows`, or `unknown` for attestation manifests.
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v7`, `v8`, or empty.
    pub variant: String,
}

/// One manifest an image index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: Digest,
    /// Absent in indexes that carry none (then it matches no node's platform).
    pub platform: Option<Platform>,
}

/// What a digest in a registry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    /// A single-platform image manifest.
    Image,
    /// An image index (manifest list) and the manifests it lists.
    Index(Vec<IndexEntry>),
}

impl ManifestKind {
    /// True when this is an index that lists `member` for `platform` (`os`, `arch`; any
    /// variant: nodes do not label theirs), or for any platform when it is unknown (`None`).
    pub fn lists(&self, member: &Digest, platform: Option<(&str, &str)>) -> bool {
        let ManifestKind::Index(entries) = self else {
            return false;
        };
        entries.iter().any(|e| {
            &e.digest == member
                && match (platform, &e.platform) {
                    (None, _) => true,
                    (Some((os, arch)), Some(p)) => p.os == os && p.architecture == arch,
                    (Some(_), None) => false,
                }
        })
    }
}

/// What the registry answered for one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagAnswer {
    /// The tag points to this digest now.
    Resolved {
        digest: Digest,
        /// When the registry answered.
        answered_at: Timestamp,
        /// The image config's `created` time, when it has one (an index: its first image's).
        created: Option<Timestamp>,
        /// Whether the digest is an index, when it was read.
        manifest: Option<ManifestKind>,
    },
    /// The registry answered 404: the tag or the repository does not exist.
    NotFound { answered_at: Timestamp },
    /// The registry could not be asked, or refused: never a worse verdict, only no reference.
    Failed {
        result: RegistryResult,
        reason: String,
        answered_at: Timestamp,
    },
}

impl TagAnswer {
    /// When the registry answered (or failed to).
    pub fn answered_at(&self) -> Timestamp {
        match self {
            TagAnswer::Resolved { answered_at, .. }
            | TagAnswer::NotFound { answered_at }
            | TagAnswer::Failed { answered_at, .. } => *answered_at,
        }
    }
}

/// What the view knows of one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagState {
    /// Being asked.
    Pending {
        /// The last answer, kept while a refresh is in flight.
        last: Option<Box<TagEntry>>,
    },
    /// Answered.
    Known(TagEntry),
}

/// A tag's last answer, with the time kube-verdict first saw its digest for this tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEntry {
    pub answer: TagAnswer,
    /// When the current digest was first answered for this tag (kept across refreshes that
    /// answer the same digest): the time the tag moved, when the image has no `created`.
    pub first_seen: Option<Timestamp>,
    /// The refreshes that failed since `answer` (a registry down, credentials revoked): the
    /// last good answer stands (a flaky registry must not flip verdicts), and this says since
    /// when and why it could not be asked again.
    pub failing: Option<Failing>,
}

/// Refreshes of a resolved tag that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failing {
    pub result: RegistryResult,
    pub reason: String,
    /// The first failure.
    pub since: Timestamp,
    /// The latest failure (when the tag is due again).
    pub last: Timestamp,
}

impl TagEntry {
    /// The time the tag moved to its current digest (DESIGN §7): the image's `created` time
    /// when it is not after `answered_at`, else when kube-verdict first saw the digest.
    pub fn moved_at(&self) -> Option<Timestamp> {
        match &self.answer {
            TagAnswer::Resolved {
                created,
                answered_at,
                ..
            } => created
                .filter(|c| c <= answered_at)
                .or(self.first_seen)
                .or(Some(*answered_at)),
            _ => None,
        }
    }
}

impl TagState {
    /// The answer in force: the last one, also while a refresh is pending.
    pub fn entry(&self) -> Option<&TagEntry> {
        match self {
            TagState::Pending { last } => last.as_deref(),
            TagState::Known(e) => Some(e),
        }
    }
}

/// The tags of images worth asking the registry about: `registry/path:tag`, never pinned by
/// digest (the pin is the reference), never pushed by an in-cluster build.
pub fn lookup_name(image: &ImageRef) -> Option<String> {
    match (&image.tag, &image.digest) {
        (Some(_), None) => Some(image.name()),
        _ => None,
    }
}

/// How long a 404 holds at most: a 404 makes a pulling rollout `blocked/image_not_found` at
/// once, and an image pushed a moment later (a deploy that outran its build) must not stay
/// blocked for a whole `--registry-ttl`.
pub const NOT_FOUND_TTL: SignedDuration = SignedDuration::from_secs(30);

/// True when a tag's answer is due again: never asked, or answered longer ago than `ttl`
/// (failures are asked again after the same time: a registry down is asked once per `ttl`; a
/// 404 after at most [`NOT_FOUND_TTL`]).
pub fn due(state: Option<&TagState>, now: Timestamp, ttl: SignedDuration) -> bool {
    match state {
        None => true,
        Some(TagState::Pending { .. }) => false,
        Some(TagState::Known(e)) => {
            let ttl = match e.answer {
                TagAnswer::NotFound { .. } => ttl.min(NOT_FOUND_TTL),
                _ => ttl,
            };
            let last = e.failing.as_ref().map_or(e.answer.answered_at(), |f| {
                f.last.max(e.answer.answered_at())
            });
            now.duration_since(last) >= ttl
        }
    }
}

/// The host of a `registry/path:tag` name, for evidence.
pub fn host_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> Digest {
        Digest::from_hex(&c.to_string().repeat(64)).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_tag_moved_at_created_unless_it_is_in_the_future() {
        let e = |created: Option<&str>, first: Option<&str>| TagEntry {
            answer: TagAnswer::Resolved {
                digest: d('a'),
                answered_at: at("2026-01-01T10:00:00Z"),
                created: created.map(at),
                manifest: None,
            },
            first_seen: first.map(at),
            failing: None,
        };
        assert_eq!(
            e(Some("2026-01-01T09:00:00Z"), Some("2026-01-01T09:30:00Z")).moved_at(),
            Some(at("2026-01-01T09:00:00Z"))
        );
        // A clock-skewed builder (created in the future): first seen instead.
        assert_eq!(
            e(Some("2026-01-01T11:00:00Z"), Some("2026-01-01T09:30:00Z")).moved_at(),
            Some(at("2026-01-01T09:30:00Z"))
        );
        assert_eq!(e(None, None).moved_at(), Some(at("2026-01-01T10:00:00Z")));
    }

    #[test]
    fn only_tags_are_looked_up_and_only_when_due() {
        let r = ImageRef::parse("registry.example.com/shop/checkout:1.8.0").unwrap();
        assert_eq!(
            lookup_name(&r).as_deref(),
            Some("registry.example.com/shop/checkout:1.8.0")
        );
        let pinned =
            ImageRef::parse(&format!("registry.example.com/shop/checkout@{}", d('b'))).unwrap();
        assert_eq!(lookup_name(&pinned), None);
        let now = at("2026-01-01T10:05:00Z");
        let ttl = SignedDuration::from_mins(5);
        let known = |t: &str| {
            TagState::Known(TagEntry {
                answer: TagAnswer::Failed {
                    result: RegistryResult::Unauthorized,
                    reason: "401".into(),
                    answered_at: at(t),
                },
                first_seen: None,
                failing: None,
            })
        };
        let not_found = |t: &str| {
            TagState::Known(TagEntry {
                answer: TagAnswer::NotFound { answered_at: at(t) },
                first_seen: None,
                failing: None,
            })
        };
        assert!(due(None, now, ttl));
        assert!(!due(Some(&TagState::Pending { last: None }), now, ttl));
        assert!(!due(Some(&known("2026-01-01T10:01:00Z")), now, ttl));
        assert!(due(Some(&known("2026-01-01T10:00:00Z")), now, ttl));
        // A 404 is asked again after 30 s, whatever the TTL.
        assert!(due(Some(&not_found("2026-01-01T10:04:30Z")), now, ttl));
        assert!(!due(Some(&not_found("2026-01-01T10:04:31Z")), now, ttl));
    }

    #[test]
    fn an_index_finds_the_manifest_of_a_platform() {
        let p = |os: &str, arch: &str| {
            Some(Platform {
                os: os.into(),
                architecture: arch.into(),
                variant: String::new(),
            })
        };
        let idx = ManifestKind::Index(vec![
            IndexEntry {
                digest: d('1'),
                platform: p("linux", "amd64"),
            },
            IndexEntry {
                digest: d('2'),
                platform: p("linux", "arm64"),
            },
            IndexEntry {
                digest: d('3'),
                platform: p("unknown", "unknown"),
            },
        ]);
        assert!(idx.lists(&d('2'), Some(("linux", "arm64"))));
        assert!(!idx.lists(&d('2'), Some(("linux", "amd64"))));
        assert!(!idx.lists(&d('2'), Some(("windows", "amd64"))));
        assert!(idx.lists(&d('3'), None), "any platform when unknown");
        assert!(!ManifestKind::Image.lists(&d('2'), None));
        assert_eq!(
            host_of("registry.example.com:5000/a/b:1"),
            "registry.example.com:5000"
        );
    }
}
