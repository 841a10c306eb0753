//! Kaniko: recognised by its executor image (upstream `gcr.io/kaniko-project/executor`, the
//! maintained forks, any repository ending in `kaniko` or `kaniko/executor`) or by kaniko-style
//! args; destinations from `--destination=X`, `--destination X`, `-d X` (DESIGN §7). A leaf.

use super::builder::{Builder, BuilderKind};
use crate::engine::image::ImageRef;

/// Kaniko (GoogleContainerTools, and the chainguard / osscontainertools forks).
pub struct Kaniko;

/// True when the image is a kaniko executor image.
pub fn is_kaniko_image(image: &str) -> bool {
    let Ok(r) = ImageRef::parse(image) else {
        return image.contains("kaniko");
    };
    let p = r.path.as_str();
    p.ends_with("kaniko-project/executor")
        || p.ends_with("kaniko/executor")
        || p.ends_with("kaniko")
        || p.rsplit('/')
            .next()
            .is_some_and(|last| last.starts_with("kaniko"))
}

/// The values Go's `strconv.ParseBool` (pflag's bool flags, kaniko's env) reads as true.
fn go_parse_bool_true(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

fn has_kaniko_args(argv: &[String]) -> bool {
    argv.iter()
        .any(|a| a == "/kaniko/executor" || a.ends_with("/kaniko/executor"))
        || (argv
            .iter()
            .any(|a| a.starts_with("--destination") || a == "-d")
            && argv.iter().any(|a| {
                a.starts_with("--context")
                    || a.starts_with("--dockerfile")
                    || a == "-c"
                    || a == "-f"
            }))
}

impl Builder for Kaniko {
    fn kind(&self) -> BuilderKind {
        BuilderKind::Kaniko
    }

    fn may_be_build(&self, image: &str, argv: &[String]) -> bool {
        image.contains("kaniko") || has_kaniko_args(argv)
    }

    fn destinations(&self, image: &str, argv: &[String]) -> Option<Vec<String>> {
        if !(is_kaniko_image(image) || has_kaniko_args(argv)) {
            return None;
        }
        let mut out = Vec::new();
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            if let Some(v) = a
                .strip_prefix("--destination=")
                .or_else(|| a.strip_prefix("-d="))
            {
                out.push(v.to_string());
            } else if (a == "--destination" || a == "-d")
                && let Some(v) = it.next()
            {
                out.push(v.clone());
            }
        }
        Some(out)
    }

    fn no_push(&self, argv: &[String]) -> bool {
        argv.iter().any(|a| {
            a == "--no-push" || a.strip_prefix("--no-push=").is_some_and(go_parse_bool_true)
        })
    }

    fn env_disables_push(&self, name: &str, value: &str) -> bool {
        name == "KANIKO_NO_PUSH" && go_parse_bool_true(value)
    }

    fn done_after_last_push(&self) -> bool {
        true
    }
}
