//! The words of a container's command line: argv as given, with any element that holds a shell
//! script (`sh -c "buildctl build … && buildah push …"`) split into its words the way a POSIX
//! shell splits them (blanks; single and double quotes; backslash escapes outside single
//! quotes). No expansion: `$VAR` stays as written. A leaf.

/// The words of `argv`: elements without blanks as they are, the others split like a shell.
pub fn words(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in argv {
        if a.contains(char::is_whitespace) {
            split_shell(a, &mut out);
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// Splits one script into words; `;`, `&&`, `||` and `|` end a word and are words themselves,
/// so that a command after them starts afresh.
fn split_shell(s: &str, out: &mut Vec<String>) {
    let mut cur = String::new();
    let mut started = false;
    let mut chars = s.chars().peekable();
    let flush = |cur: &mut String, started: &mut bool, out: &mut Vec<String>| {
        if *started {
            out.push(std::mem::take(cur));
            *started = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                started = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(c),
                    }
                }
            }
            '\\' => {
                // A backslash-newline continues the line; any other escape keeps the char.
                match chars.next() {
                    Some('\n') | None => {}
                    Some(n) => {
                        started = true;
                        cur.push(n);
                    }
                }
            }
            ';' | '&' | '|' => {
                flush(&mut cur, &mut started, out);
                let mut op = c.to_string();
                if chars.peek() == Some(&c) {
                    op.push(c);
                    chars.next();
                }
                out.push(op);
            }
            c if c.is_whitespace() => flush(&mut cur, &mut started, out),
            c => {
                started = true;
                cur.push(c);
            }
        }
    }
    flush(&mut cur, &mut started, out);
}

/// The value of a flag in `words`: `--flag=V`, `--flag V` (and each short alias the same way).
pub fn flag_values<'a>(words: &'a [String], names: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        for n in names {
            if let Some(v) = w.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                out.push(v);
            } else if w == n
                && let Some(v) = it.clone().next()
            {
                out.push(v.as_str());
                it.next();
                break;
            }
        }
    }
    out
}

/// The last path element of a program word (`/usr/bin/buildctl` → `buildctl`).
pub fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scripts_split_like_a_shell() {
        let w = words(&v(&[
            "/bin/sh",
            "-c",
            "buildah bud -t \"reg.io/a/b:1\" . && buildah push --digestfile=/dev/termination-log 'reg.io/a/b:1' docker://reg.io/a/b:1;echo done \\\n  x",
        ]));
        assert_eq!(
            w,
            v(&[
                "/bin/sh",
                "-c",
                "buildah",
                "bud",
                "-t",
                "reg.io/a/b:1",
                ".",
                "&&",
                "buildah",
                "push",
                "--digestfile=/dev/termination-log",
                "reg.io/a/b:1",
                "docker://reg.io/a/b:1",
                ";",
                "echo",
                "done",
                "x"
            ])
        );
        assert_eq!(
            flag_values(&w, &["--digestfile", "-t"]),
            vec!["reg.io/a/b:1", "/dev/termination-log"]
        );
        // Unbalanced quotes and lone operators never panic.
        let _ = words(&v(&["sh", "-c", "a \"b ' c \\"]));
        assert_eq!(
            program("/usr/bin/buildctl-daemonless.sh"),
            "buildctl-daemonless.sh"
        );
    }
}
