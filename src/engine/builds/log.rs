//! Build logs, read line by line: kaniko's `color` (ANSI, `INFO[0034]`), `text`
//! (`time=… level=info msg=…`) and `json` formats, with or without `--log-timestamp`; the
//! `Pushed <repo>@sha256:…` lines and the fatal lines. A leaf: a 50 MB log costs no more memory
//! than its interesting lines.

use jiff::Timestamp;

use crate::engine::image::Digest;

/// Most fatal lines kept per container log: enough to quote the cause, bounded for 50 MB logs.
const MAX_FATAL_LINES: usize = 5;
/// Most `Pushed` lines kept per container log (cache pushes included).
const MAX_PUSHED_LINES: usize = 64;
/// Longest line kept, in bytes; longer lines are cut (a log may hold one 50 MB line).
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// When a log line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTime {
    /// kaniko's default `INFO[0034]`: seconds since the executor started.
    SinceStart(i64),
    /// `--log-timestamp`, text and json formats: a wall-clock time.
    At(Timestamp),
}

/// A `Pushed <repo>@sha256:…` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedDigest {
    /// The repository as printed (go-containerregistry form, e.g. `index.docker.io/x/y`).
    pub repository: String,
    pub digest: Digest,
    pub at: Option<LogTime>,
    /// The log line without colour codes, for evidence.
    pub line: String,
}

/// What a container's log says about a build. Built line by line, so a 50 MB log costs no more
/// memory than its interesting lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFacts {
    pub pushed: Vec<PushedDigest>,
    pub fatal: Vec<String>,
    pub skipped_push: bool,
    pub lines: u64,
    /// Lines longer than `MAX_LINE_BYTES` that were cut.
    pub cut_lines: u64,
    /// The log ended without the dump's END marker.
    pub truncated: bool,
}

/// Reads kaniko's `color` (ANSI, `INFO[0034]`), `text` (`time=… level=info msg=…`) and `json`
/// log formats, with or without `--log-timestamp`, plus the unformatted fatal error kaniko
/// prints to stderr.
#[derive(Debug, Default)]
pub struct LogScanner {
    facts: LogFacts,
}

/// The level and message of one log line.
struct Parsed {
    level: String,
    msg: String,
    at: Option<LogTime>,
}

impl LogScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line (without its newline). Lines are cut at `MAX_LINE_BYTES` by the caller
    /// or here.
    pub fn line(&mut self, raw: &str) {
        self.facts.lines += 1;
        let raw = if raw.len() > MAX_LINE_BYTES {
            self.facts.cut_lines += 1;
            let mut end = MAX_LINE_BYTES;
            while !raw.is_char_boundary(end) {
                end -= 1;
            }
            &raw[..end]
        } else {
            raw
        };
        let clean = strip_ansi(raw);
        let clean = clean.trim();
        if clean.is_empty() {
            return;
        }
        let p = parse_line(clean);
        let msg = p.msg.trim();
        if let Some(pushed) = registry_digest_line(msg) {
            if self.facts.pushed.len() < MAX_PUSHED_LINES {
                self.facts.pushed.push(PushedDigest {
                    line: clean.to_string(),
                    ..pushed
                });
            }
            return;
        }
        if let Some(pushed) = other_builder_push(msg) {
            if self.facts.pushed.len() < MAX_PUSHED_LINES {
                self.facts.pushed.push(PushedDigest {
                    line: clean.to_string(),
                    ..pushed
                });
            }
            return;
        }
        if let Some(rest) = msg.strip_prefix("Pushed ") {
            if let Some((repo, digest)) = rest.trim().split_once('@')
                && let Some(digest) = Digest::parse(digest.trim())
                && self.facts.pushed.len() < MAX_PUSHED_LINES
            {
                self.facts.pushed.push(PushedDigest {
                    repository: repo.to_string(),
                    digest,
                    at: p.at,
                    line: clean.to_string(),
                });
            }
            return;
        }
        if msg.starts_with("Skipping push to container registry due to --no-push flag") {
            self.facts.skipped_push = true;
            return;
        }
        let level = p.level.to_ascii_lowercase();
        let fatal = matches!(
            level.as_str(),
            "erro" | "error" | "fata" | "fatal" | "panic"
        ) || (level.is_empty() && is_fatal_text(msg));
        if fatal && self.facts.fatal.len() < MAX_FATAL_LINES {
            self.facts.fatal.push(msg.to_string());
        }
    }

    /// Counts a line the reader cut at `MAX_LINE_BYTES` before handing it over.
    pub fn note_cut_line(&mut self) {
        self.facts.cut_lines += 1;
    }

    /// Marks the log as cut short (no END marker, or the reader stopped).
    pub fn truncated(&mut self) {
        self.facts.truncated = true;
    }

    pub fn finish(self) -> LogFacts {
        self.facts
    }

    /// Convenience: scans a whole log held in memory.
    pub fn scan(text: &str) -> LogFacts {
        let mut s = LogScanner::new();
        for l in text.lines() {
            s.line(l);
        }
        s.finish()
    }
}

/// go-containerregistry's `remote.Write` progress line, which kaniko 0.1 printed to stdout
/// (`<registry>/<repo>:<tag>: digest: sha256:<hex> size: <n>`) and 0.2–0.10 through Go's
/// standard logger (the same after a `2019/03/14 10:00:12 ` prefix, in the executor's UTC).
/// Kaniko 0.11–1.7 print no digest at all; 1.8+ print `Pushed <repo>@sha256:…`.
fn registry_digest_line(msg: &str) -> Option<PushedDigest> {
    let (at, rest) = match stdlib_log_time(msg) {
        Some(at) => (Some(LogTime::At(at)), msg.get(20..)?),
        None => (None, msg),
    };
    let (reference, tail) = rest.split_once(": digest: ")?;
    if reference.is_empty() || reference.contains(char::is_whitespace) {
        return None;
    }
    let digest = Digest::parse(tail.split_whitespace().next()?)?;
    if !tail.contains(" size: ") {
        return None;
    }
    // The reference names a tag (or a digest): the repository is what comes before it.
    let reference = reference.split('@').next().unwrap_or(reference);
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    let repository = match reference[slash..].find(':') {
        Some(colon) => &reference[..slash + colon],
        None => reference,
    };
    Some(PushedDigest {
        repository: repository.to_string(),
        digest,
        at,
        line: String::new(),
    })
}

/// The push lines of builders other than kaniko, anywhere in the line:
/// - BuildKit's progress `pushing manifest for <name:tag>@sha256:…` (plain `#12 pushing manifest
///   for … 0.2s done`, tty `=> => pushing manifest for … 2.2s`; moby/buildkit util/push/push.go);
///   the digest is the root one (an index when attestations are on);
/// - OpenShift's builder `Successfully pushed <repo>@sha256:…` (openshift/builder
///   pkg/build/builder/daemonless.go).
fn other_builder_push(msg: &str) -> Option<PushedDigest> {
    let reference = ["pushing manifest for ", "Successfully pushed "]
        .iter()
        .find_map(|marker| msg.split_once(marker).map(|(_, rest)| rest))?
        .split_whitespace()
        .next()?;
    let (name, digest) = reference.split_once('@')?;
    let digest = Digest::parse(digest)?;
    // `name:tag` or `name`: the repository is before the tag.
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let repository = match name[slash..].find(':') {
        Some(colon) => &name[..slash + colon],
        None => name,
    };
    if repository.is_empty() {
        return None;
    }
    Some(PushedDigest {
        repository: repository.to_string(),
        digest,
        at: None,
        line: String::new(),
    })
}

/// The time of a Go standard-logger prefix `2019/03/14 10:00:12 ` (UTC), if the line has one.
fn stdlib_log_time(line: &str) -> Option<Timestamp> {
    let b = line.as_bytes();
    let shape = b.len() > 20
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b' ';
    if !shape {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}Z",
        &line[0..4],
        &line[5..7],
        &line[8..10],
        &line[11..19]
    );
    iso.parse().ok()
}

/// The unformatted fatal errors kaniko prints with `fmt.Fprintln(os.Stderr, err)`.
fn is_fatal_text(msg: &str) -> bool {
    const PREFIXES: [&str; 7] = [
        "error building image",
        "error pushing image",
        "error checking push permissions",
        "error resolving source context",
        "you must provide --destination",
        "Error: ",
        "error ",
    ];
    PREFIXES.iter().any(|p| msg.starts_with(p))
}

fn strip_ansi(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\x1b') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn parse_line(line: &str) -> Parsed {
    // json: {"level":"info","msg":"Pushed …","time":"…"}
    if line.starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
    {
        let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        return Parsed {
            level: get("level"),
            msg: get("msg"),
            at: get("time").parse::<Timestamp>().ok().map(LogTime::At),
        };
    }
    // text: time="…" level=info msg="…"
    if line.starts_with("time=") || line.starts_with("level=") {
        let mut level = String::new();
        let mut msg = String::new();
        let mut at = None;
        let mut rest = line;
        while let Some((key, after)) = rest.split_once('=') {
            let key = key.trim();
            let (value, next) = logfmt_value(after);
            match key {
                "time" => at = value.parse::<Timestamp>().ok().map(LogTime::At),
                "level" => level = value,
                "msg" => msg = value,
                _ => {}
            }
            rest = next;
        }
        return Parsed { level, msg, at };
    }
    // color (ANSI stripped): INFO[0034] msg   or   INFO[2025-06-01T10:00:41Z] msg
    if let Some(open) = line.find('[')
        && open <= 5
        && line[..open].bytes().all(|b| b.is_ascii_uppercase())
        && let Some(close) = line[open..].find(']')
    {
        let inner = &line[open + 1..open + close];
        let at = if let Ok(secs) = inner.parse::<i64>() {
            Some(LogTime::SinceStart(secs))
        } else {
            inner.parse::<Timestamp>().ok().map(LogTime::At)
        };
        return Parsed {
            level: line[..open].to_string(),
            msg: line[open + close + 1..].trim().to_string(),
            at,
        };
    }
    Parsed {
        level: String::new(),
        msg: line.to_string(),
        at: None,
    }
}

/// Reads one logfmt value (quoted with Go `%q` escapes, or bare) and returns the rest.
fn logfmt_value(s: &str) -> (String, &str) {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(match n {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                }
                '"' => return (out, body[i + 1..].trim_start()),
                _ => out.push(c),
            }
        }
        (out, "")
    } else {
        match s.find(' ') {
            Some(i) => (s[..i].to_string(), s[i + 1..].trim_start()),
            None => (s.to_string(), ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4f1c8e2a9b3d5f7e1a2c4b6d8f0e1a3c5b7d9f1e2a4c6b8d0f2e4a6c8b0d2f4e";

    /// Every push-line form kaniko has printed, by version (sources in
    /// tests/fixtures/README.md, "kaniko push lines").
    #[test]
    fn push_lines_of_every_kaniko_version() {
        let digest = format!("sha256:{HEX}");
        let cases = [
            // 0.1: go-containerregistry's progress line on stdout.
            (
                format!("registry.example.com/builds/web:0.1.0: digest: {digest} size: 1243"),
                "registry.example.com/builds/web",
                None,
            ),
            // 0.2–0.10: the same through Go's standard logger.
            (
                format!(
                    "2019/03/14 10:00:12 registry.example.com:5000/builds/api:2.1.0: digest: {digest} size: 1243"
                ),
                "registry.example.com:5000/builds/api",
                Some("2019-03-14T10:00:12Z"),
            ),
            // 1.8+ (and the chainguard and osscontainertools forks), color format.
            (
                format!(
                    "\x1b[36mINFO\x1b[0m[0034] Pushed registry.example.com/shop/checkout@{digest} "
                ),
                "registry.example.com/shop/checkout",
                None,
            ),
            // 1.8+, json format with --log-timestamp.
            (
                format!(
                    r#"{{"level":"info","msg":"Pushed index.docker.io/acme/app@{digest}","time":"2026-11-20T10:06:30Z"}}"#
                ),
                "index.docker.io/acme/app",
                Some("2026-11-20T10:06:30Z"),
            ),
        ];
        for (i, (line, repo, at)) in cases.into_iter().enumerate() {
            let facts = LogScanner::scan(&line);
            assert_eq!(facts.pushed.len(), 1, "{line}");
            let p = &facts.pushed[0];
            assert_eq!(p.repository, repo, "{line}");
            assert_eq!(p.digest.to_string(), digest);
            let want = match at {
                Some(t) => Some(LogTime::At(t.parse().unwrap())),
                None if i == 2 => Some(LogTime::SinceStart(34)),
                None => None,
            };
            assert_eq!(p.at, want, "{line}");
        }
    }

    #[test]
    fn lines_without_a_digest_or_not_a_push_are_not_pushes() {
        for line in [
            "INFO[0040] Pushing image to registry.example.com/builds/worker:1.5.0",
            "INFO[0041] Pushed image to 1 destinations",
            "INFO[0041] Pushed images to 2 destinations",
            // 1.21+: the registry refused to overwrite an immutable tag; nothing was pushed.
            &format!(
                "INFO[0041] Immutable tag error ignored for registry.example.com/x@sha256:{HEX}"
            ),
            "digest: sha256:nothex size: 1",
            "a sentence: digest: of the day size: 3",
        ] {
            assert!(LogScanner::scan(line).pushed.is_empty(), "{line}");
        }
    }
}
