//! BuildKit: `buildctl` / `buildctl-daemonless.sh` build pods (moby/buildkit images, or any
//! image whose command runs them, also inside a shell script). Destinations are the `name=`s of
//! an `--output`/`-o` of `type=image` with `push=true`, or of `type=registry` (which always
//! pushes) (moby/buildkit:cmd/buildctl/build.go, exporter/containerimage). The digest comes
//! from `--metadata-file` JSON (`containerimage.digest`) surfaced through the termination
//! message, or from the plain progress line `pushing manifest for <name:tag>@sha256:…`
//! (research §2.1; buildkitd v0.28.0 prints no push lines: no digest in the log, never a
//! failure). A leaf.

use super::builder::{Builder, BuilderKind};
use super::words::{flag_values, program, words};

/// BuildKit's `buildctl`.
pub struct Buildkit;

fn is_buildctl(word: &str) -> bool {
    matches!(program(word), "buildctl" | "buildctl-daemonless.sh")
}

/// The comma-separated `key=value` pairs of an `--output` value, with CSV double quotes
/// (`"name=a:1,b:2",push=true`).
fn csv_pairs(value: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
        .into_iter()
        .filter_map(|f| {
            let (k, v) = f.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// One `--output`: its image names and whether it pushes.
fn output(value: &str) -> Option<(Vec<String>, bool)> {
    let pairs = csv_pairs(value);
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    let kind = get("type")?;
    if kind != "image" && kind != "registry" {
        return None;
    }
    let names: Vec<String> = get("name")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    let push = kind == "registry" || matches!(get("push"), Some("true" | "1"));
    Some((names, push))
}

fn outputs(argv: &[String]) -> Vec<(Vec<String>, bool)> {
    let w = words(argv);
    flag_values(&w, &["--output", "-o"])
        .into_iter()
        .filter_map(output)
        .collect()
}

impl Builder for Buildkit {
    fn kind(&self) -> BuilderKind {
        BuilderKind::Buildkit
    }

    fn may_be_build(&self, image: &str, argv: &[String]) -> bool {
        image.contains("buildkit") || argv.iter().any(|a| a.contains("buildctl"))
    }

    fn destinations(&self, image: &str, argv: &[String]) -> Option<Vec<String>> {
        let runs_buildctl = words(argv).iter().any(|w| is_buildctl(w));
        // buildctl in the command, or a buildkit image given the command's args.
        let buildkit_image = image.contains("moby/buildkit") && !argv.is_empty();
        if !(runs_buildctl || buildkit_image) {
            return None;
        }
        let outs = outputs(argv);
        if outs.is_empty() && !runs_buildctl {
            return None;
        }
        Some(outs.into_iter().flat_map(|(names, _)| names).collect())
    }

    fn no_push(&self, argv: &[String]) -> bool {
        let outs = outputs(argv);
        !outs.is_empty() && outs.iter().all(|(_, push)| !push)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn outputs_of_buildctl_in_every_form() {
        // moby/buildkit examples/kubernetes/job.rootless.yaml: buildctl-daemonless.sh as the
        // entrypoint, the output as one argument.
        let job = v(&[
            "buildctl-daemonless.sh",
            "build",
            "--frontend",
            "dockerfile.v0",
            "--local",
            "context=/workspace",
            "--local",
            "dockerfile=/workspace",
            "--output",
            "type=image,name=registry.example.com/shop/web:1.0,push=true",
        ]);
        let img = "moby/buildkit:v0.19.0-rootless";
        assert_eq!(
            Buildkit.destinations(img, &job).unwrap(),
            vec!["registry.example.com/shop/web:1.0"]
        );
        assert!(!Buildkit.no_push(&job));
        // Two names in CSV quotes, `-o`, type=registry, inside a script.
        let script = v(&[
            "sh",
            "-c",
            "buildctl --addr tcp://buildkitd:1234 build --frontend=dockerfile.v0 --local context=. -o 'type=registry,\"name=r.io/a:1,r.io/a:latest\"' --metadata-file /dev/termination-log",
        ]);
        assert_eq!(
            Buildkit.destinations("alpine:3", &script).unwrap(),
            vec!["r.io/a:1", "r.io/a:latest"]
        );
        // An image exported without push, or to a tarball: no push.
        let local = v(&["buildctl", "build", "--output", "type=image,name=r.io/a:1"]);
        assert!(Buildkit.no_push(&local));
        let tar = v(&[
            "buildctl",
            "build",
            "--output",
            "type=oci,dest=/out/image.tar",
        ]);
        assert_eq!(
            Buildkit.destinations("x", &tar).unwrap(),
            Vec::<String>::new()
        );
        assert!(
            Buildkit
                .destinations("nginx:1.27", &v(&["nginx"]))
                .is_none()
        );
    }
}
