//! The layer rules of the architecture (docs/design.md, "Layers"), read from the `use crate::`
//! and `super::` paths of every non-test source file:
//!
//! - `engine/` names only `engine/`; `sources/` never names a sink or `app`; `sinks/` never
//!   names a source or `app`; `cli.rs`, `config.rs` and `telemetry.rs` name no runtime module;
//! - no import cycle between files, except among the files of one module split into files
//!   (a folder below a layer, e.g. `engine/verdict/`); the files of a layer (`engine/*.rs`,
//!   `app/*.rs`, …) are separate modules and may not cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `engine/builds/log.rs` → `engine::builds::log`; `engine/builds/mod.rs` → `engine::builds`;
/// `lib.rs` → the crate root (``); `main.rs` → `main` (the binary, naming the library as
/// `kube_verdict::`).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code without comments, string literals and `#[cfg(test)]` items (a test module or
/// function is removed with its braces); empty for a `#![cfg(test)]` file.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if text[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            i = text[i..].find("*/").map_or(b.len(), |e| i + e + 2);
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if text[i..].starts_with("#![cfg(test)]") {
            return String::new();
        } else if text[i..].starts_with("#[cfg(test)]") {
            // Skip the attribute and the item it gates: up to the end of its braces, or a `;`.
            i += "#[cfg(test)]".len();
            let mut depth = 0;
            while i < b.len() {
                match b[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b';' if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let path: String = path.split_whitespace().collect();
    let Some(open) = path.find('{') else {
        return vec![path];
    };
    let (prefix, rest) = path.split_at(open);
    let inner = &rest[1..rest.rfind('}').unwrap_or(rest.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.is_empty())
        .flat_map(|i| expand(&format!("{prefix}{i}")))
        .collect()
}

/// The child modules a file declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`).
fn child_modules(code: &str) -> Vec<String> {
    code.split(';')
        .filter_map(|stmt| {
            let words: Vec<&str> = stmt.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "mod")?;
            (at + 2 == words.len()).then(|| words[at + 1].to_string())
        })
        .collect()
}

/// Every crate path a file names, made absolute (`crate::` dropped, `self::` and `super::`
/// resolved, a path starting with a declared child module prefixed with this module).
fn paths(module: &str, code: &str) -> Vec<String> {
    let children = child_modules(code);
    let mut raw = Vec::new();
    // `use` statements, braces and all.
    for stmt in code.split(';') {
        if let Some(i) = stmt.find("use ") {
            raw.extend(expand(stmt[i + 4..].trim()));
        }
    }
    // Paths written inline in code: `crate::`, `self::`, `super::` and `child::`.
    let mut starts: Vec<String> = vec![
        "crate::".into(),
        "kube_verdict::".into(),
        "self::".into(),
        "super::".into(),
    ];
    starts.extend(children.iter().map(|c| format!("{c}::")));
    for start in &starts {
        for (i, _) in code.match_indices(start.as_str()) {
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let tail: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            raw.push(tail);
        }
    }
    let own: Vec<&str> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").collect()
    };
    raw.into_iter()
        .filter_map(|p| {
            let p = p.trim_end_matches("::");
            if let Some(rest) = p
                .strip_prefix("crate::")
                .or_else(|| p.strip_prefix("kube_verdict::"))
            {
                return Some(rest.to_string());
            }
            let first = p.split("::").next().unwrap_or("");
            let mut base = own.clone();
            let mut rest = p;
            if let Some(r) = rest.strip_prefix("self::") {
                rest = r;
            } else if !(first == "super" || children.iter().any(|c| c == first)) {
                return None; // an external crate or std
            }
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            if rest == "super" {
                base.pop();
                rest = "";
            }
            let mut v: Vec<&str> = base;
            if !rest.is_empty() {
                v.extend(rest.split("::"));
            }
            Some(v.join("::"))
        })
        .collect()
}

struct Crate {
    /// module path → file (relative to src/)
    files: BTreeMap<String, PathBuf>,
    /// module → modules it names (resolved to the longest known module prefix)
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn read_crate() -> Crate {
    let root = src();
    let mut all = Vec::new();
    rust_files(&root, &mut all);
    let mut files = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for f in &all {
        let rel = f.strip_prefix(&root).unwrap().to_path_buf();
        let m = module_of(&rel);
        texts.insert(m.clone(), std::fs::read_to_string(f).unwrap());
        files.insert(m, rel);
    }
    let mut edges = BTreeMap::new();
    for (m, text) in &texts {
        let mut to = BTreeSet::new();
        for p in paths(m, &code(text)) {
            let parts: Vec<&str> = p.split("::").collect();
            let target = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|cand| files.contains_key(cand));
            if let Some(t) = target
                && &t != m
            {
                to.insert(t);
            }
        }
        edges.insert(m.clone(), to);
    }
    Crate { files, edges }
}

fn layer_of(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

/// What each layer may name (besides itself). Anything else, including a top-level module
/// that is not listed here, breaks the rules.
const ALLOWED: &[(&str, &[&str])] = &[
    ("engine", &[]),
    ("cli", &[]),
    ("telemetry", &[]),
    ("config", &["cli", "engine"]),
    ("sources", &["engine", "config"]),
    ("sinks", &["engine", "config"]),
    (
        "app",
        &["engine", "config", "cli", "sources", "sinks", "telemetry"],
    ),
    ("main", &["app", "cli", "telemetry"]),
    (
        "",
        &[
            "app",
            "cli",
            "config",
            "engine",
            "sinks",
            "sources",
            "telemetry",
        ],
    ),
];

#[test]
fn layers_only_point_down() {
    let c = read_crate();
    let mut bad = Vec::new();
    for (from, tos) in &c.edges {
        let layer = layer_of(from);
        let Some((_, allowed)) = ALLOWED.iter().find(|(l, _)| *l == layer) else {
            bad.push(format!(
                "{}: {layer} is not a known layer",
                c.files[from].display()
            ));
            continue;
        };
        for to in tos {
            let target = layer_of(to);
            if target != layer && !allowed.contains(&target) {
                bad.push(format!("{} names {to}", c.files[from].display()));
            }
        }
    }
    // Aliasing the crate would hide paths from this test.
    for (m, f) in &c.files {
        let text = std::fs::read_to_string(src().join(f)).unwrap();
        if text.contains("extern crate self") {
            bad.push(format!("{} ({m}) aliases the crate", f.display()));
        }
    }
    assert!(bad.is_empty(), "layer rules broken:\n{}", bad.join("\n"));
    // The checker itself must see edges, or it proves nothing.
    assert!(c.edges["app::controller"].contains("engine::view"));
    assert!(c.edges["engine::builds"].contains("engine::view"));
    assert!(
        c.edges["app"].contains("app::check"),
        "child paths are read"
    );
}

/// Strongly connected components (Tarjan), as lists of modules.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_import_cycles_across_folders() {
    let c = read_crate();
    let mut bad = Vec::new();
    for scc in cycles(&c.edges) {
        let dirs: BTreeSet<_> = scc
            .iter()
            .map(|m| c.files[m].parent().map(Path::to_path_buf))
            .collect();
        // A folder two levels down (`engine/verdict/`) is one module split into files.
        let one_split_module =
            dirs.len() == 1 && dirs.iter().flatten().all(|d| d.components().count() >= 2);
        if !one_split_module {
            let files: Vec<String> = scc
                .iter()
                .map(|m| c.files[m].display().to_string())
                .collect();
            bad.push(files.join(" <-> "));
        }
    }
    assert!(bad.is_empty(), "import cycles:\n{}", bad.join("\n"));
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut e = BTreeMap::new();
    e.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    e.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    e.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    let found = cycles(&e);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 2);
    assert_eq!(
        expand("crate::engine::{view::{Change, Kind}, image}"),
        vec![
            "crate::engine::view::Change",
            "crate::engine::view::Kind",
            "crate::engine::image"
        ]
    );
}
