//! Tekton results: a step that reports an image it built through Tekton's type hinting
//! (`IMAGE_URL` with `IMAGE_DIGEST`, any `<prefix>IMAGE_URL` with `<prefix>IMAGE_DIGEST`, or
//! `IMAGES` as `img@sha256:…` separated by commas or newlines; tektoncd/chains
//! docs/slsa-provenance.md) is a build of that image, whatever the step runs (a script, a
//! builder kube-verdict does not know). The results travel in the step container's termination
//! message as a JSON array of `{key, value, type}` (tektoncd/pipeline pkg/result). Read from
//! pods; TaskRun objects are not watched yet. A leaf.

use super::builder::{Builder, BuilderKind};
use crate::engine::image::Digest;

/// A step that reports image results.
pub struct Tekton;

/// The images a termination message's Tekton results say were built and pushed: each
/// `<prefix>IMAGE_URL` with a well-formed `<prefix>IMAGE_DIGEST`, and each `IMAGES` entry.
/// Anything else (not JSON, wrong types, a digest that is not one): nothing.
pub fn result_images(message: &str) -> Vec<String> {
    let m = message.trim();
    if !m.starts_with('[') || !(m.contains("IMAGE_URL") || m.contains("IMAGES")) {
        return Vec::new();
    }
    let Ok(serde_json::Value::Array(results)) = serde_json::from_str::<serde_json::Value>(m) else {
        return Vec::new();
    };
    let pairs: Vec<(&str, &str)> = results
        .iter()
        .filter_map(|r| Some((r.get("key")?.as_str()?, r.get("value")?.as_str()?)))
        .collect();
    let value = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let mut out = Vec::new();
    for (key, val) in &pairs {
        if let Some(prefix) = key.strip_suffix("IMAGE_URL")
            && value(&format!("{prefix}IMAGE_DIGEST"))
                .is_some_and(|d| Digest::parse(d.trim()).is_some())
        {
            out.push(val.trim().to_string());
        }
        if *key == "IMAGES" {
            out.extend(
                val.split([',', '\n'])
                    .filter_map(|i| i.trim().split_once('@'))
                    .filter(|(_, d)| Digest::parse(d.trim()).is_some())
                    .map(|(image, _)| image.trim().to_string()),
            );
        }
    }
    out.retain(|i| !i.is_empty());
    out.dedup();
    out
}

impl Builder for Tekton {
    fn kind(&self) -> BuilderKind {
        BuilderKind::Tekton
    }

    /// Recognised by its results, not its command: never by image and argv.
    fn may_be_build(&self, _image: &str, _argv: &[String]) -> bool {
        false
    }

    fn destinations(&self, _image: &str, _argv: &[String]) -> Option<Vec<String>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_from_results_of_every_hint() {
        let d = format!("sha256:{}", "a".repeat(64));
        let m = format!(
            r#"[{{"key":"IMAGE_URL","value":"r.io/a:1","type":1}},{{"key":"IMAGE_DIGEST","value":"{d}","type":1}},
               {{"key":"WEB_IMAGE_URL","value":"r.io/web:2"}},{{"key":"WEB_IMAGE_DIGEST","value":"{d}"}},
               {{"key":"BAD_IMAGE_URL","value":"r.io/bad:3"}},{{"key":"BAD_IMAGE_DIGEST","value":"sha256:abc"}},
               {{"key":"IMAGES","value":"r.io/b:1@{d}, r.io/c:1@{d}\nr.io/d:1"}},
               {{"key":"StartedAt","value":"2026-11-30T10:00:00.000Z","type":3}}]"#
        );
        assert_eq!(
            result_images(&m),
            vec!["r.io/a:1", "r.io/web:2", "r.io/b:1", "r.io/c:1"]
        );
        for bad in [
            "",
            "sha256:abc",
            "[{\"key\":\"IMAGE_URL\",\"value\":7}]",
            "[{\"key\":\"IMAGE_URL\",\"value\":\"r.io/a:1\"}]",
            "[\"IMAGES\"",
        ] {
            assert!(result_images(bad).is_empty(), "{bad}");
        }
    }
}
