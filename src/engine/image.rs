//! Image references and digests: takes the strings found in pod specs, kaniko logs and
//! `status.containerStatuses[].imageID`, returns normalised references the way the container
//! runtime (distribution/reference) reads them, so that `nginx`, `docker.io/library/nginx:latest`
//! and kaniko's `index.docker.io/library/nginx` compare equal.

use std::fmt;

/// Docker Hub's canonical registry name (distribution/reference `defaultDomain`).
const DEFAULT_REGISTRY: &str = "docker.io";
/// The legacy Docker Hub name that go-containerregistry (and so kaniko) prints.
const LEGACY_REGISTRY: &str = "index.docker.io";

/// A content digest, always `sha256:` followed by 64 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 hex>`; upper-case hex is folded to lower case.
    pub fn parse(s: &str) -> Option<Digest> {
        let hex = s.strip_prefix("sha256:")?;
        Self::from_hex(hex)
    }

    /// Parses a bare 64-hex string (CRI-O image IDs, kaniko digest files without prefix).
    pub fn from_hex(hex: &str) -> Option<Digest> {
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(Digest(format!("sha256:{}", hex.to_ascii_lowercase())))
        } else {
            None
        }
    }

    /// The whole digest, `sha256:` and 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `sha256:` and the first 12 hex digits, for summaries and the text report only.
    pub fn short(&self) -> &str {
        &self.0[..19]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an image reference could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    /// The string is empty.
    #[error("empty image reference")]
    Empty,
    /// The reference breaks the distribution/reference grammar (the runtime says `InvalidImageName`).
    #[error("invalid reference format: {0}")]
    InvalidFormat(String),
}

/// A normalised image reference: `registry/path[:tag][@digest]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Registry host (and port), `docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path inside the registry, with `library/` for official Docker Hub images.
    pub path: String,
    /// Tag; `latest` when neither tag nor digest is given.
    pub tag: Option<String>,
    /// Digest the reference is pinned to, if any.
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// Normalises a reference the way containerd's `ParseDockerRef` and distribution/reference
    /// `ParseNormalizedNamed` + `TagNameOnly` do.
    pub fn parse(input: &str) -> Result<ImageRef, ImageRefError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                let digest = Digest::parse(d)
                    .ok_or_else(|| ImageRefError::InvalidFormat(format!("bad digest in {s:?}")))?;
                (n, Some(digest))
            }
            None => (s, None),
        };
        // A tag is the part after the last ':' that follows the last '/'.
        let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_tag[..at], Some(&name_tag[at + 1..]))
            }
            None => (name_tag, None),
        };
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return Err(ImageRefError::InvalidFormat(format!("bad tag in {s:?}")));
        }
        let (registry, path) = split_domain(name);
        if path.is_empty() || path.split('/').any(|c| !valid_path_component(c)) {
            let msg = if path.bytes().any(|b| b.is_ascii_uppercase()) {
                format!("repository name ({path}) must be lowercase")
            } else {
                format!("bad repository name in {s:?}")
            };
            return Err(ImageRefError::InvalidFormat(msg));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Ok(ImageRef {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// `registry/path`: the repository, the unit digests are compared within.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    /// `registry/path:tag` (or `registry/path@digest` when pinned without tag): what a build
    /// destination must equal for the build to belong to this image.
    pub fn name(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}/{}:{}", self.registry, self.path, t),
            (None, Some(d)) => format!("{}/{}@{}", self.registry, self.path, d),
            (None, None) => self.repository(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Normalises a bare repository name (no tag), e.g. the `repo` of a kaniko `Pushed repo@sha256:…`
/// line or of an imageID; `index.docker.io/x/y` becomes `docker.io/x/y`.
pub fn normalize_repository(repo: &str) -> Option<String> {
    let (registry, path) = split_domain(repo.trim());
    if path.is_empty() || path.split('/').any(|c| !valid_path_component(c)) {
        return None;
    }
    Some(format!("{registry}/{path}"))
}

fn split_domain(name: &str) -> (String, String) {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first == "localhost"
                || first.contains('.')
                || first.contains(':')
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
    };
    let registry = if registry == LEGACY_REGISTRY {
        DEFAULT_REGISTRY.to_string()
    } else {
        registry
    };
    let path = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    (registry, path)
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// path-component := [a-z0-9]+ ([_.]|__|[-]*)[a-z0-9]+ ...
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        // separator run
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// What a container status `imageID` tells about the digest that runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageId {
    /// `repo@sha256:…` (containerd, CRI-O) or `docker-pullable://repo@sha256:…` (dockershim,
    /// cri-dockerd): a registry manifest digest, comparable with a pushed digest.
    RepoDigest { repository: String, digest: Digest },
    /// `docker://sha256:…`, bare `sha256:…` (an image config ID) or CRI-O 1.28/1.29's bare hex:
    /// a node-local ID that cannot be compared with a pushed manifest digest.
    LocalId(String),
    /// Empty (container not started yet) or unreadable.
    Unknown,
}

impl ImageId {
    /// Reads every `imageID` form listed in DESIGN §7.
    pub fn parse(raw: &str) -> ImageId {
        let s = raw.trim();
        if s.is_empty() {
            return ImageId::Unknown;
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            return ImageId::LocalId(rest.to_string());
        }
        let s = s.strip_prefix("docker-pullable://").unwrap_or(s);
        if let Some((repo, digest)) = s.split_once('@') {
            return match (normalize_repository(repo), Digest::parse(digest)) {
                (Some(repository), Some(digest)) => ImageId::RepoDigest { repository, digest },
                _ => ImageId::Unknown,
            };
        }
        if Digest::parse(s).is_some() || Digest::from_hex(s).is_some() {
            return ImageId::LocalId(s.to_string());
        }
        ImageId::Unknown
    }

    /// The comparable digest, if any.
    pub fn repo_digest(&self) -> Option<&Digest> {
        match self {
            ImageId::RepoDigest { digest, .. } => Some(digest),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

    #[test]
    fn docker_hub_forms_normalise_to_one_name() {
        for s in [
            "nginx",
            "nginx:latest",
            "library/nginx",
            "docker.io/nginx",
            "docker.io/library/nginx:latest",
            "index.docker.io/library/nginx",
        ] {
            assert_eq!(
                ImageRef::parse(s).unwrap().name(),
                "docker.io/library/nginx:latest",
                "{s}"
            );
        }
        assert_eq!(
            ImageRef::parse("myuser/app:v1").unwrap().name(),
            "docker.io/myuser/app:v1"
        );
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = ImageRef::parse("localhost:5000/shop/api").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.path, "shop/api");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = ImageRef::parse("registry.example.com:443/shop/api:1.2").unwrap();
        assert_eq!(r.name(), "registry.example.com:443/shop/api:1.2");
    }

    #[test]
    fn tag_and_digest_keeps_both_and_digest_only_has_no_tag() {
        let r =
            ImageRef::parse(&format!("registry.example.com/shop/api:1.0@sha256:{HEX}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_ref().unwrap().as_str(), format!("sha256:{HEX}"));
        let r = ImageRef::parse(&format!("registry.example.com/shop/api@sha256:{HEX}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.repository(), "registry.example.com/shop/api");
    }

    #[test]
    fn invalid_names_are_rejected_with_the_runtime_wording() {
        let e = ImageRef::parse("myorg/MyApp:1.0").unwrap_err();
        assert!(e.to_string().contains("must be lowercase"), "{e}");
        assert!(ImageRef::parse("").is_err());
        assert!(ImageRef::parse("shop/api:").is_err());
        assert!(ImageRef::parse("shop//api").is_err());
        assert!(ImageRef::parse("shop/api@sha256:abc").is_err());
    }

    #[test]
    fn every_image_id_form_of_design_section_7() {
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(
            ImageId::parse(&format!("registry.example.com/shop/api@sha256:{HEX}")).repo_digest(),
            Some(&d)
        );
        assert_eq!(
            ImageId::parse(&format!("docker-pullable://nginx@sha256:{HEX}")),
            ImageId::RepoDigest {
                repository: "docker.io/library/nginx".into(),
                digest: d.clone()
            }
        );
        assert!(matches!(
            ImageId::parse(&format!("docker://sha256:{HEX}")),
            ImageId::LocalId(_)
        ));
        assert!(matches!(
            ImageId::parse(&format!("sha256:{HEX}")),
            ImageId::LocalId(_)
        ));
        assert!(matches!(ImageId::parse(HEX), ImageId::LocalId(_)));
        assert_eq!(ImageId::parse(""), ImageId::Unknown);
        assert_eq!(ImageId::parse("garbage"), ImageId::Unknown);
    }

    #[test]
    fn digest_is_lowercased_and_shortened_only_on_request() {
        let d = Digest::parse(&format!("sha256:{}", HEX.to_uppercase())).unwrap();
        assert_eq!(d.as_str(), format!("sha256:{HEX}"));
        assert_eq!(d.short(), "sha256:4f1c2b3a4d5e");
    }
}
