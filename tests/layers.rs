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

/// `engine/builds/log.rs` → `engine::builds::log`; `engine/builds/mod.rs` → `engine::builds`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
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

/// The code before the first `#[cfg(test)]`, without comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
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

/// Every crate path a file names, made absolute (`crate::` dropped, `super::` resolved).
fn paths(module: &str, code: &str) -> Vec<String> {
    let mut raw = Vec::new();
    // `use` statements, braces and all.
    for stmt in code.split(';') {
        if let Some(i) = stmt.find("use ") {
            let p = stmt[i + 4..].trim();
            if p.starts_with("crate::") || p.starts_with("super::") {
                raw.extend(expand(p));
            }
        }
    }
    // Paths written inline in code.
    for (i, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let tail: String = code[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        raw.push(tail);
    }
    let own: Vec<&str> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").collect()
    };
    raw.into_iter()
        .map(|p| {
            let p = p.trim_end_matches("::");
            if let Some(rest) = p.strip_prefix("crate::") {
                return rest.to_string();
            }
            let mut base = own.clone();
            let mut rest = p;
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
            v.join("::")
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

#[test]
fn layers_only_point_down() {
    let c = read_crate();
    let forbidden: &[(&str, &[&str])] = &[
        (
            "engine",
            &["app", "sources", "sinks", "config", "cli", "telemetry"],
        ),
        ("sources", &["app", "sinks", "telemetry"]),
        ("sinks", &["app", "sources", "telemetry"]),
        ("config", &["app", "sources", "sinks", "telemetry"]),
        (
            "cli",
            &["app", "sources", "sinks", "config", "engine", "telemetry"],
        ),
        (
            "telemetry",
            &["app", "sources", "sinks", "config", "engine", "cli"],
        ),
    ];
    let mut bad = Vec::new();
    for (from, tos) in &c.edges {
        for (layer, banned) in forbidden {
            if layer_of(from) != *layer {
                continue;
            }
            for to in tos {
                if banned.contains(&layer_of(to)) {
                    bad.push(format!("{} names {to}", c.files[from].display()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "layer rules broken:\n{}", bad.join("\n"));
    // The checker itself must see edges, or it proves nothing.
    assert!(c.edges["app::controller"].contains("engine::view"));
    assert!(c.edges["engine::builds"].contains("engine::view"));
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
