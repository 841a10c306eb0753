//! Buildah: pods running `buildah push` (quay.io/buildah, quay.io/containers/buildah images,
//! the Tekton catalog's buildah task, or any image whose command runs buildah, also inside a
//! shell script). Destinations are the `docker://` (or transport-less) destinations of each
//! `buildah push [flags] IMAGE [DESTINATION]` (containers/buildah:cmd/buildah/push.go). The
//! digest comes from `--digestfile` through the termination message or a Tekton result:
//! buildah's push log carries none (research §2.2). A leaf.

use super::builder::{Builder, BuilderKind};
use super::words::{program, words};

/// Buildah.
pub struct Buildah;

/// `buildah push` flags that take a value (global flags before `push` included).
const VALUE_FLAGS: &[&str] = &[
    "--authfile",
    "--cert-dir",
    "--compression-format",
    "--compression-level",
    "--creds",
    "--digestfile",
    "--encryption-key",
    "--format",
    "-f",
    "--retry",
    "--retry-delay",
    "--sign-by",
    "--signature-policy",
    "--storage-driver",
    "--root",
    "--runroot",
];

/// Each `buildah push`'s destination, as written (`docker://` stripped; other transports
/// such as `oci:` or `docker-archive:` are not registry pushes and are left out).
fn pushes(argv: &[String]) -> Vec<String> {
    let w = words(argv);
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        if program(&w[i]) != "buildah" {
            i += 1;
            continue;
        }
        // Skip global flags up to the subcommand.
        let mut j = i + 1;
        while j < w.len() && w[j].starts_with('-') {
            j += if VALUE_FLAGS.contains(&w[j].as_str()) {
                2
            } else {
                1
            };
        }
        if w.get(j).map(String::as_str) != Some("push") {
            i = j.max(i + 1);
            continue;
        }
        let mut positional = Vec::new();
        let mut k = j + 1;
        while k < w.len() && !matches!(w[k].as_str(), ";" | "&&" | "||" | "|" | "&") {
            let a = w[k].as_str();
            if a.starts_with('-') {
                k += if VALUE_FLAGS.contains(&a) { 2 } else { 1 };
                continue;
            }
            positional.push(a);
            k += 1;
        }
        if let Some(dest) = positional.get(1).or(positional.first()) {
            match dest.split_once("://") {
                Some(("docker", rest)) => out.push(rest.to_string()),
                Some(_) => {}
                None if dest.contains(':')
                    && dest.split_once(':').is_some_and(|(t, _)| {
                        matches!(
                            t,
                            "oci"
                                | "oci-archive"
                                | "dir"
                                | "docker-archive"
                                | "docker-daemon"
                                | "containers-storage"
                        )
                    }) => {}
                None => out.push(dest.to_string()),
            }
        }
        i = k;
    }
    out
}

impl Builder for Buildah {
    fn kind(&self) -> BuilderKind {
        BuilderKind::Buildah
    }

    fn may_be_build(&self, image: &str, argv: &[String]) -> bool {
        image.contains("buildah") || argv.iter().any(|a| a.contains("buildah"))
    }

    fn destinations(&self, _image: &str, argv: &[String]) -> Option<Vec<String>> {
        let dests = pushes(argv);
        (!dests.is_empty()).then_some(dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn push_destinations_in_every_form() {
        // The Tekton catalog's buildah task 0.9 (task/buildah/0.9/buildah.yaml), after
        // parameter substitution: a script.
        let tekton = v(&[
            "/bin/bash",
            "-c",
            "buildah --storage-driver=vfs bud --format=oci --tls-verify=true -f ./Dockerfile -t registry.example.com/shop/web:1.0 .\n[ \"false\" = \"true\" ] && exit 0\nbuildah --storage-driver=vfs push --tls-verify=true --digestfile /tmp/image-digest registry.example.com/shop/web:1.0 docker://registry.example.com/shop/web:1.0\ntee /tekton/results/IMAGE_DIGEST < /tmp/image-digest",
        ]);
        assert_eq!(
            Buildah
                .destinations("quay.io/buildah/stable:v1.37", &tekton)
                .unwrap(),
            vec!["registry.example.com/shop/web:1.0"]
        );
        // argv form, one positional (the image is its own destination), global flags first.
        let argv = v(&[
            "buildah",
            "--storage-driver",
            "vfs",
            "push",
            "--creds",
            "u:p",
            "--digestfile=/dev/termination-log",
            "r.io/a/b:2",
        ]);
        assert_eq!(
            Buildah.destinations("x", &argv).unwrap(),
            vec!["r.io/a/b:2"]
        );
        // Not a registry push, or no push at all.
        let archive = v(&["buildah", "push", "img", "oci-archive:/out/img.tar"]);
        assert!(Buildah.destinations("x", &archive).is_none());
        let bud = v(&["buildah", "bud", "-t", "r.io/a:1", "."]);
        assert!(
            Buildah
                .destinations("quay.io/buildah/stable", &bud)
                .is_none()
        );
    }
}
