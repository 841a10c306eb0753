//! The `check` report: takes verdicts (never re-derives them) and renders the JSON document of
//! DESIGN §3 or a text report for people.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use crate::engine::verdict::{ContainerVerdict, DeploymentVerdict, Verdict};

/// The JSON document of `check -o json` and `GET /api/v1/verdicts`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub now: Timestamp,
    pub deployments: Vec<DeploymentVerdict>,
    /// Problems met while reading the input (skipped objects, truncated logs), each naming its
    /// file or object. Empty when the input was clean.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Warnings beyond those listed, counted but not named (a dump names its first 1,000).
    /// Absent from the JSON when every warning is listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub warnings_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Widest table column: longer names (which Kubernetes never produces: names are at most 253
/// characters) overflow their column instead of widening every row.
const MAX_COLUMN: usize = 253;

/// Appends `text` and spaces up to `width` characters, then the two-space column gap.
fn pad(s: &mut String, text: &str, width: usize) {
    let text = shown(text);
    s.push_str(&text);
    let n = text.chars().count();
    s.push_str(&" ".repeat(width.saturating_sub(n) + 2));
}

/// Text from the cluster as the text report shows it: control characters (a line break, a
/// carriage return, a terminal escape), Unicode's line and paragraph separators and its
/// bidirectional overrides written as escapes (`\n`, `\u{1b}`, `\u{202e}`). Anyone who may
/// create an Event writes its message; raw, it could clear the terminal, forge a line of the
/// report or reorder what it shows. The JSON output escapes the control characters itself.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    fn hidden(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }
    if !text.chars().any(hidden) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if hidden(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

impl Report {
    /// The `check` exit code (DESIGN §3): 4 if any stale/blocked/failed, else 3 if any
    /// converging/unknown, else 0; 3 when nothing was judged (no Deployment in scope), since a CI
    /// gate must not pass on an empty answer.
    pub fn exit_code(&self) -> i32 {
        if self.deployments.is_empty() {
            return 3;
        }
        self.deployments
            .iter()
            .map(|d| d.verdict.exit_code())
            .fold(0, |a, c| match (a, c) {
                (4, _) | (_, 4) => 4,
                (3, _) | (_, 3) => 3,
                _ => 0,
            })
    }

    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The text report: a table, then details (summary, next step, blockers, evidence) of every
    /// deployment that is not verified, and of verified ones when there is a single deployment
    /// or `verbose`.
    pub fn to_text(&self, color: bool, verbose: bool) -> String {
        let mut s = String::new();
        let paint = Paint(color);
        let _ = writeln!(s, "kube-verdict at {}", self.now);
        if self.deployments.is_empty() {
            let _ = writeln!(s, "No deployments found in scope.");
        } else {
            self.write_table(&mut s, paint);
        }
        let single = self.deployments.len() == 1;
        for d in &self.deployments {
            if d.verdict == Verdict::Verified && !single && !verbose {
                continue;
            }
            write_details(&mut s, d, paint);
        }
        if !self.deployments.is_empty()
            && self
                .deployments
                .iter()
                .all(|d| matches!(d.verdict, Verdict::Verified | Verdict::Complete))
        {
            let _ = writeln!(
                s,
                "\nNothing to do: every deployment is verified or complete."
            );
        }
        self.write_warnings(&mut s);
        s
    }

    /// One line per deployment: namespace, name, verdict, cause, owner. Columns are padded by
    /// hand, in characters: `format!`'s width argument panics above 65,535, and a name comes
    /// from the input.
    fn write_table(&self, s: &mut String, paint: Paint) {
        let width = |f: fn(&DeploymentVerdict) -> usize, min: usize| {
            self.deployments
                .iter()
                .map(f)
                .max()
                .unwrap_or(0)
                .clamp(min, MAX_COLUMN)
        };
        let w_ns = width(|d| d.namespace.chars().count(), 9);
        let w_name = width(|d| d.name.chars().count(), 10);
        let w_cause = width(|d| d.cause.as_str().len(), 5);
        let _ = writeln!(s);
        pad(s, "NAMESPACE", w_ns);
        pad(s, "DEPLOYMENT", w_name);
        pad(s, "VERDICT", 10);
        pad(s, "CAUSE", w_cause);
        s.push_str("OWNER\n");
        for d in &self.deployments {
            pad(s, &d.namespace, w_ns);
            pad(s, &d.name, w_name);
            let verdict = d.verdict.as_str();
            s.push_str(&paint.verdict(d.verdict, verdict));
            s.push_str(&" ".repeat(10usize.saturating_sub(verdict.len()) + 2));
            pad(s, d.cause.as_str(), w_cause);
            s.push_str(d.owner.as_str());
            s.push('\n');
        }
    }

    /// The first 20 warnings, and how many more there are: listed in the JSON, or counted only.
    fn write_warnings(&self, s: &mut String) {
        if self.warnings.is_empty() && self.warnings_omitted == 0 {
            return;
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "warnings ({}):",
            self.warnings.len() + self.warnings_omitted
        );
        for w in self.warnings.iter().take(20) {
            let _ = writeln!(s, "  - {}", shown(w));
        }
        if self.warnings.len() > 20 {
            let _ = writeln!(
                s,
                "  ... and {} more (see -o json)",
                self.warnings.len() - 20
            );
        }
        if self.warnings_omitted > 0 {
            let _ = writeln!(
                s,
                "  ... and {} more, counted but not named",
                self.warnings_omitted
            );
        }
    }
}

/// Colours verdicts on a terminal (ANSI), or not.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn verdict(self, v: Verdict, text: &str) -> String {
        if !self.0 {
            return text.to_string();
        }
        let code = match v {
            Verdict::Verified | Verdict::Complete => "32",
            Verdict::Converging => "36",
            Verdict::Unknown => "2",
            Verdict::Stale => "33",
            Verdict::Blocked | Verdict::Failed => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// A deployment's details: heading, summary, next step, containers, blockers, evidence.
fn write_details(s: &mut String, d: &DeploymentVerdict, paint: Paint) {
    let _ = writeln!(s);
    let head = format!(
        "{}/{}: {} ({}, owner {})",
        shown(&d.namespace),
        shown(&d.name),
        d.verdict.as_str(),
        d.cause.as_str(),
        d.owner.as_str()
    );
    let _ = writeln!(s, "{}", paint.verdict(d.verdict, &head));
    let _ = writeln!(s, "  {}", shown(&d.summary));
    if let Some(n) = &d.next_step {
        let _ = writeln!(s, "  next step: {}", shown(n));
    }
    for c in &d.containers {
        write_container(s, c);
    }
    if !d.blockers.is_empty() {
        let _ = writeln!(s, "  blockers:");
        for b in &d.blockers {
            let _ = writeln!(
                s,
                "    {}{} owner={} pods={} nodes={} since={}",
                if b.primary { "* " } else { "  " },
                b.reason.as_str(),
                b.owner.as_str(),
                b.pods,
                b.nodes,
                b.since.map(|t| t.to_string()).unwrap_or_else(|| "?".into())
            );
        }
    }
    if !d.evidence.is_empty() {
        let _ = writeln!(s, "  evidence:");
        for e in &d.evidence {
            let _ = writeln!(s, "    - {}", shown(e));
        }
    }
}

/// `container NAME (IMAGE): built by … ; pods run …; digest matches|MISMATCH|not compared`.
fn write_container(s: &mut String, c: &ContainerVerdict) {
    let build = match &c.build {
        Some(b) if b.pod.is_none() => format!(
            "its registry says the tag is {}",
            b.digest.as_deref().map(short).unwrap_or("unknown")
        ),
        Some(b) => format!(
            "built by {} ({}{})",
            shown(b.pod.as_deref().unwrap_or_default()),
            b.status.as_str(),
            b.digest
                .as_deref()
                .map(|d| format!(", {}", short(d)))
                .unwrap_or_default()
        ),
        None => "no build known".to_string(),
    };
    let running = if c.running_digests.is_empty() {
        "pods report no registry digest".to_string()
    } else {
        let digests: Vec<&str> = c.running_digests.iter().map(|d| short(d)).collect();
        format!("pods run {}", digests.join(", "))
    };
    let m = match c.digest_match {
        Some(true) => "digest matches",
        Some(false) => "digest MISMATCH",
        None => "digest not compared",
    };
    let _ = writeln!(
        s,
        "  container {} ({}): {build}; {running}; {m}",
        shown(&c.name),
        shown(&c.image)
    );
}

/// `sha256:` and 12 hex digits (all of it when the 19th byte is not a character boundary).
fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::Owner;
    use crate::engine::verdict::{BuildReport, Cause};

    /// Text from the cluster cannot clear the terminal or forge a line of the text report: an
    /// Event message with a terminal escape and a line break shows them as escapes. A digest
    /// cut in the middle of a character is shown whole, not a panic.
    #[test]
    fn cluster_text_is_shown_with_its_control_characters_escaped() {
        let forged = "\x1b[2J\x1b]0;title\x07\r\nshop  web  verified  digest_match  none";
        let d = DeploymentVerdict {
            namespace: "shop".into(),
            name: "api\x1b[31m".into(),
            verdict: Verdict::Blocked,
            cause: Cause::DigestMatch,
            owner: Owner::Platform,
            image: "x".into(),
            summary: format!("blocked: {forged}"),
            next_step: Some(forged.into()),
            containers: vec![ContainerVerdict {
                name: "c\n".into(),
                image: "img\r".into(),
                build: Some(BuildReport {
                    builder: "kaniko",
                    source: "build",
                    pod: Some("ci/b\x1b".into()),
                    status: crate::engine::builds::BuildStatus::Succeeded,
                    digest: Some("sha256:0123456789éé".into()),
                    finished_at: None,
                }),
                running_digests: vec!["sha256:01234567890é".into()],
                digest_match: Some(false),
            }],
            blockers: vec![],
            evidence: vec![forged.into()],
        };
        let report = Report {
            now: "2026-11-20T10:15:00Z".parse().unwrap(),
            deployments: vec![d],
            warnings: vec![format!("Event shop/e: {forged}")],
            warnings_omitted: 0,
        };
        let text = report.to_text(false, true);
        assert!(!text.contains(['\x1b', '\r', '\x07']), "{text:?}");
        assert!(
            !text.lines().any(|l| l.starts_with("shop  web")),
            "a forged line: {text}"
        );
        assert!(text.contains(r"\u{1b}[2J"), "{text}");
        let unicode = Report {
            warnings: vec!["a\u{2028}b\u{202e}c\u{2066}d".into()],
            ..report
        };
        let text = unicode.to_text(false, true);
        assert!(text.contains(r"a\u{2028}b\u{202e}c\u{2066}d"), "{text}");
        assert!(text.contains(r"\r\nshop  web"), "{text}");
    }

    /// Warnings a dump counted but did not keep are in the total and said as counted; the JSON
    /// holds them as `warnings_omitted` (absent when there are none).
    #[test]
    fn omitted_warnings_are_counted_in_text_and_json() {
        let report = Report {
            now: "2026-11-20T10:15:00Z".parse().unwrap(),
            deployments: vec![],
            warnings: (0..1000).map(|i| format!("w{i}")).collect(),
            warnings_omitted: 409,
        };
        let text = report.to_text(false, true);
        assert!(text.contains("warnings (1409):"), "{text}");
        assert!(text.contains("... and 980 more (see -o json)"), "{text}");
        assert!(
            text.contains("... and 409 more, counted but not named\n"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["warnings_omitted"], 409);
        assert_eq!(json["warnings"].as_array().unwrap().len(), 1000);
        let clean = Report {
            warnings: vec![],
            warnings_omitted: 0,
            ..report
        };
        let json: serde_json::Value = serde_json::from_str(&clean.to_json()).unwrap();
        assert!(json.get("warnings_omitted").is_none() && json.get("warnings").is_none());
        assert!(!clean.to_text(false, true).contains("warnings"));
    }
}
