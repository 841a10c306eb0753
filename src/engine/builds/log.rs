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
