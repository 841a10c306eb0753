//! What registries and users hand the registry source: manifest and index bodies, image
//! configs (`created`), docker `config.json` files. Must never panic; an index's digests are
//! whole.
#![no_main]

use kube_verdict::engine::registry::ManifestKind;
use kube_verdict::config::Credentials;
use kube_verdict::sources::registry::{parse_created, parse_manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((kind, config)) = parse_manifest(data) {
        if let ManifestKind::Index(entries) = &kind {
            for e in entries {
                assert_eq!(e.digest.as_str().len(), 71);
                assert!(kind.lists(&e.digest, None));
            }
        }
        if let Some(c) = &config {
            assert_eq!(c.as_str().len(), 71);
            // An image manifest lists nothing, not even its own config.
            assert!(!kind.lists(c, Some(("linux", "amd64"))));
        }
    }
    let _ = parse_created(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok((c, _)) = Credentials::parse_docker_config(text) {
            let _ = c.get("docker.io");
        }
    }
});
