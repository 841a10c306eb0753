//! The offline source: takes a `kubectl cluster-info dump --output-directory` tree (plus any
//! `kubectl get -o json|yaml` file dropped into it) and emits the same `Change`s as the live
//! source, then `Synced` for every kind. Logs are read line by line and only for build pods.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::engine::builds::{LogScanner, MAX_LINE_BYTES, is_build_pod};
use crate::engine::view::{Change, Kind, Object};

/// Why a dump could not be read. Each variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The path does not exist.
    #[error(
        "{0}: does not exist (make a dump with `kubectl cluster-info dump --all-namespaces --output-directory=DIR`)"
    )]
    NotFound(PathBuf),
    /// The path is neither a directory nor a `.json`/`.yaml`/`.yml` file.
    #[error(
        "{0}: neither a directory nor a .json/.yaml file (expected the output of `kubectl cluster-info dump --output-directory=DIR`, or one `kubectl get -o json` file)"
    )]
    NotADump(PathBuf),
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `.json`/`.yaml` file is not valid JSON/YAML.
    #[error("{path}: not valid {format}: {message}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
}

/// What reading a dump found besides objects.
#[derive(Debug, Default)]
pub struct DumpStats {
    pub files: usize,
    pub objects: usize,
    pub log_files: usize,
    /// Objects skipped (malformed, or of a kind kube-verdict does not use), with a warning each.
    pub skipped: usize,
    /// Of those, the objects of a kind kube-verdict reads that did not project (a malformed
    /// pod), by kind: `kube_verdict_skipped_objects_total{resource}` of `serve --dump`.
    pub skipped_by_kind: std::collections::BTreeMap<Kind, usize>,
    /// Human-readable warnings, each naming its file and object: the first
    /// [`MAX_DUMP_WARNINGS`].
    pub warnings: Vec<String>,
    /// Warnings beyond the first [`MAX_DUMP_WARNINGS`], counted and not kept.
    pub warnings_more: usize,
}

/// Most warnings a dump names: a dump of a million malformed objects would otherwise hold and
/// report a million lines (and `serve --dump` would copy them into every `/report`).
pub const MAX_DUMP_WARNINGS: usize = 1000;

impl DumpStats {
    /// Records a warning; beyond [`MAX_DUMP_WARNINGS`] only counts it.
    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_DUMP_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.warnings_more += 1;
        }
    }

    /// Adds the counts and warnings of one file, in file order.
    fn add(&mut self, file: DumpStats) {
        self.files += file.files;
        self.objects += file.objects;
        self.skipped += file.skipped;
        for (kind, n) in file.skipped_by_kind {
            *self.skipped_by_kind.entry(kind).or_default() += n;
        }
        self.warnings_more += file.warnings_more;
        for w in file.warnings {
            self.warn(w);
        }
    }
}

/// Kinds `kubectl cluster-info dump` writes that the engine does not need: skipped silently.
const DUMP_KINDS_UNUSED: [&str; 3] = ["Service", "DaemonSet", "ReplicationController"];

/// Largest JSON file accepted (a whole-cluster events.json can be large, but not this).
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Largest YAML file accepted: YAML is parsed through a generic tree (several times the file in
/// memory) and dumps are written as JSON; `kubectl get -o yaml` of a whole cluster stays below.
const MAX_YAML_BYTES: u64 = 256 * 1024 * 1024;

/// Deepest flow (`[`/`{`) nesting accepted in a YAML file. Kubernetes objects nest about 15
/// levels; libyaml's scanner is quadratic in flow depth (a 200 kB `{a: {a: …` took 8 s), so a
/// deeper file is skipped before it is parsed.
const MAX_YAML_FLOW_DEPTH: usize = 64;

/// Reads the dump under `dir`, feeding every change to `sink`. Object files are parsed on all
/// cores; changes reach `sink` in file order, so the result does not depend on scheduling.
pub fn load(dir: &Path, sink: &mut dyn FnMut(Change)) -> Result<DumpStats, DumpError> {
    let mut object_files: Vec<PathBuf> = Vec::new();
    let mut log_files: Vec<(String, String, PathBuf)> = Vec::new();
    if !dir.exists() {
        return Err(DumpError::NotFound(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        // One `kubectl get -o json` file is a one-file dump.
        if !is_object_file(dir) {
            return Err(DumpError::NotADump(dir.to_path_buf()));
        }
        object_files.push(dir.to_path_buf());
    }
    let entries = if dir.is_dir() {
        sorted_entries(dir)?
    } else {
        Vec::new()
    };
    for entry in entries {
        if entry.is_dir() {
            let ns = file_name(&entry);
            for inner in sorted_entries(&entry)? {
                if inner.is_dir() {
                    let logs = inner.join("logs.txt");
                    if logs.is_file() {
                        log_files.push((ns.clone(), file_name(&inner), logs));
                    }
                } else if is_object_file(&inner) {
                    object_files.push(inner);
                }
            }
        } else if is_object_file(&entry) {
            object_files.push(entry);
        }
    }

    let mut stats = DumpStats::default();
    let mut builds: HashMap<(String, String), Vec<String>> = HashMap::new();
    parse_files_parallel(&object_files, &mut |result| {
        let (objects, file_stats) = result?;
        stats.add(file_stats);
        for obj in objects {
            if let Object::Pod(p) = &obj
                && is_build_pod(p)
            {
                builds.insert(
                    (p.meta.namespace.clone(), p.meta.name.clone()),
                    p.all_containers().map(|c| c.name.to_string()).collect(),
                );
            }
            sink(Change::Apply(obj));
        }
        Ok(())
    })?;

    for (ns, pod, path) in log_files {
        // Application logs can be huge and say nothing about builds: read build pods' only.
        let Some(containers) = builds.get(&(ns.clone(), pod.clone())) else {
            continue;
        };
        stats.log_files += 1;
        read_logs(&path, &ns, &pod, containers, &mut stats, sink)?;
    }
    for k in Kind::ALL {
        sink(Change::Synced(k));
    }
    Ok(stats)
}

type FileResult = Result<(Vec<Object>, DumpStats), DumpError>;

fn parse_file(path: &Path) -> FileResult {
    let mut objects = Vec::new();
    let mut stats = DumpStats::default();
    // The newest of the events the view would not keep: they are not held until every file
    // is parsed, but their time still counts for the dump's `now` (the view reads it, then
    // drops the event).
    let mut newest_unread: Option<Object> = None;
    read_object_file(path, &mut stats, &mut |o, stats| {
        stats.objects += 1;
        match &o {
            Object::Event(e) if !e.is_read() => {
                let later = match &newest_unread {
                    Some(Object::Event(n)) => e.last > n.last,
                    _ => true,
                };
                if later {
                    newest_unread = Some(o);
                }
            }
            _ => objects.push(o),
        }
    })?;
    objects.extend(newest_unread);
    Ok((objects, stats))
}

/// Parses files on up to `available_parallelism` threads and hands each result to `consume` in
/// input order as soon as it and those before it are parsed (so the objects of the first files
/// are in the view while the last are parsed, never all held at once). Stops at the first
/// error `consume` returns.
fn parse_files_parallel(
    files: &[PathBuf],
    consume: &mut dyn FnMut(FileResult) -> Result<(), DumpError>,
) -> Result<(), DumpError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    if workers <= 1 {
        return files.iter().try_for_each(|f| consume(parse_file(f)));
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, FileResult)>(workers);
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let tx = tx.clone();
                let (next, stop) = (&next, &stop);
                scope.spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break };
                        if tx.send((i, parse_file(f))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        let mut outcome = Ok(());
        for (i, r) in rx.iter() {
            waiting.insert(i, r);
            while outcome.is_ok()
                && let Some(r) = waiting.remove(&due)
            {
                due += 1;
                outcome = consume(r);
            }
            if outcome.is_err() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                break;
            }
        }
        drop(rx);
        for h in handles {
            // A worker only panics on a bug; surface it rather than lose files silently.
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
        outcome
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, DumpError> {
    let rd = std::fs::read_dir(dir).map_err(|e| DumpError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|e| DumpError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        v.push(e.path());
    }
    v.sort();
    Ok(v)
}

/// A regular `.json`/`.yaml`/`.yml` file (a FIFO or a device of that name would block or never
/// end: not read).
fn is_object_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json") | Some("yaml") | Some("yml")
    ) && std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// The top of a dump document, every field kept raw so that a badly shaped one (`items` not a
/// list, `kind` not a string) is skipped with a warning instead of failing the whole dump. Read
/// as k8s-openapi reads objects: the last of duplicate keys wins, other keys are skipped.
#[derive(Default)]
struct Top<'a> {
    /// `null` reads as absent.
    kind: Option<&'a RawValue>,
    api_version: Option<&'a RawValue>,
    /// Present (even as `null`) or absent.
    items: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Kubernetes object or list")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Top<'de>, A::Error> {
                let mut top = Top::default();
                let present = |r: &'de RawValue| (r.get() != "null").then_some(r);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "kind" => top.kind = present(map.next_value()?),
                        "apiVersion" => top.api_version = present(map.next_value()?),
                        "items" => top.items = Some(map.next_value()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(top)
            }
        }
        d.deserialize_map(V)
    }
}

/// A raw JSON value as a string, if it is one (`null` counts as absent).
fn raw_string(v: Option<&RawValue>) -> Result<Option<String>, ()> {
    match v {
        None => Ok(None),
        Some(r) if r.get() == "null" => Ok(None),
        Some(r) => serde_json::from_str::<String>(r.get())
            .map(Some)
            .map_err(|_| ()),
    }
}

/// `metadata` of a [`Peek`]: the name and namespace, to name what is skipped.
#[derive(Default)]
struct PeekMeta {
    name: Option<String>,
    namespace: Option<String>,
}

/// The kind, apiVersion and metadata of a dump item that is not in a typed list, read as
/// k8s-openapi reads objects: an object only, the last of duplicate keys winning, every other
/// field skipped unchecked (a derived struct would refuse a duplicate key that the object's own
/// decoding accepts).
#[derive(Default)]
struct Peek {
    kind: Option<String>,
    api_version: Option<String>,
    metadata: Option<PeekMeta>,
}

impl<'de> Deserialize<'de> for PeekMeta {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PeekMeta;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("ObjectMeta")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<PeekMeta, A::Error> {
                let mut m = PeekMeta::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => m.name = map.next_value()?,
                        "namespace" => m.namespace = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Peek {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Peek;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Kubernetes object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Peek, A::Error> {
                let mut p = Peek::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "kind" => p.kind = map.next_value()?,
                        "apiVersion" => p.api_version = map.next_value()?,
                        "metadata" => p.metadata = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V)
    }
}

fn read_object_file(
    path: &Path,
    stats: &mut DumpStats,
    emit: &mut dyn FnMut(Object, &mut DumpStats),
) -> Result<(), DumpError> {
    let io = |e| DumpError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml") | Some("yml")
    );
    let limit = if yaml { MAX_YAML_BYTES } else { MAX_FILE_BYTES };
    let f = File::open(path).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    let mut bytes = Vec::new();
    if size <= limit {
        f.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    }
    stats.files += 1;
    if size > limit || bytes.len() as u64 > limit {
        skip_file(path, stats, &format!("larger than {} MiB", limit >> 20));
        return Ok(());
    }
    read_object_bytes(path, &bytes, yaml, stats, emit)
}

/// Reads one JSON or YAML file's bytes (already bounded in size): what [`load`] does per file.
/// For fuzzing and tests: the objects it holds and the warnings, or the parse error.
pub fn read_document(
    name: &str,
    bytes: &[u8],
    yaml: bool,
) -> Result<(Vec<Object>, Vec<String>), DumpError> {
    let mut stats = DumpStats::default();
    let mut objects = Vec::new();
    read_object_bytes(Path::new(name), bytes, yaml, &mut stats, &mut |o, _| {
        objects.push(o)
    })?;
    Ok((objects, stats.warnings))
}

fn read_object_bytes(
    path: &Path,
    bytes: &[u8],
    yaml: bool,
    stats: &mut DumpStats,
    emit: &mut dyn FnMut(Object, &mut DumpStats),
) -> Result<(), DumpError> {
    // A UTF-8 byte order mark (editors on Windows write one) is not part of the document.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if !yaml {
        return read_json_document(path, bytes, Some(bytes), stats, emit);
    }
    let text = String::from_utf8_lossy(bytes);
    if let Some(depth) = yaml_flow_depth_over(&text, MAX_YAML_FLOW_DEPTH) {
        skip_file(
            path,
            stats,
            &format!("YAML nested deeper than {MAX_YAML_FLOW_DEPTH} levels (at byte {depth})"),
        );
        return Ok(());
    }
    for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let v = match YamlJson::deserialize(doc) {
            Ok(YamlJson(v)) => v,
            // Well-formed YAML that no Kubernetes object has: nesting past the parser's bound
            // (block style), keys that are not strings, tags. Skipped, like any bad shape; the
            // next documents are still read.
            Err(e) if is_yaml_shape_error(&e) => {
                skip_file(path, stats, &format!("YAML document {}: {e}", i + 1));
                continue;
            }
            Err(e) => {
                return Err(DumpError::Parse {
                    path: path.to_path_buf(),
                    format: "YAML",
                    message: e.to_string(),
                });
            }
        };
        if v.is_null() {
            continue;
        }
        if !(v.is_object() || v.is_array()) {
            skip_file(
                path,
                stats,
                &format!(
                    "YAML document {} is a scalar, not a Kubernetes object or list",
                    i + 1
                ),
            );
            continue;
        }
        let json = serde_json::to_vec(&v).map_err(|e| DumpError::Parse {
            path: path.to_path_buf(),
            format: "YAML",
            message: e.to_string(),
        })?;
        read_json_document(path, &json, None, stats, emit)?;
    }
    Ok(())
}

/// A YAML error that is about the document's shape or size, not its syntax: nesting deeper
/// than the parser allows, aliases expanding past its repetition limit (a "billion laughs"
/// document), or a value of a type JSON (and so Kubernetes) cannot hold, such as a map key.
fn is_yaml_shape_error(e: &serde_yaml::Error) -> bool {
    let m = e.to_string();
    // serde_yaml prefixes the path of a nested value (`a.b: invalid type: ...`).
    m.contains("recursion limit exceeded")
        || m.contains("repetition limit exceeded")
        || m.contains("invalid type")
}

/// A YAML document as the JSON value a JSON file with the same content would parse to, so that
/// the objects in it are read as they would be from JSON: an integer beyond 64 bits is a
/// floating-point number (as serde_json parses `99999999999999999999`; `serde_json::Value`
/// refuses it from YAML, which dropped the whole document), and NaN and the infinities, which
/// JSON cannot hold, are the strings `.nan`, `.inf` and `-.inf` (however the YAML spelled them),
/// not `null`: a field that is
/// read then refuses the object, as k8s-openapi would refuse the number, and a field that is
/// not read does not matter. Keys must be strings; tags and other types are errors.
struct YamlJson(serde_json::Value);

impl<'de> Deserialize<'de> for YamlJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        use serde_json::Value;
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = YamlJson;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<YamlJson, E> {
                Ok(YamlJson(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<YamlJson, E> {
                Ok(YamlJson(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<YamlJson, E> {
                Ok(YamlJson(n.into()))
            }
            fn visit_i128<E: serde::de::Error>(self, n: i128) -> Result<YamlJson, E> {
                match i64::try_from(n) {
                    Ok(n) => Ok(YamlJson(n.into())),
                    Err(_) => self.visit_f64(n as f64),
                }
            }
            fn visit_u128<E: serde::de::Error>(self, n: u128) -> Result<YamlJson, E> {
                match u64::try_from(n) {
                    Ok(n) => Ok(YamlJson(n.into())),
                    Err(_) => self.visit_f64(n as f64),
                }
            }
            fn visit_f64<E>(self, f: f64) -> Result<YamlJson, E> {
                Ok(YamlJson(match serde_json::Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None if f.is_nan() => Value::String(".nan".into()),
                    None if f > 0.0 => Value::String(".inf".into()),
                    None => Value::String("-.inf".into()),
                }))
            }
            fn visit_str<E>(self, s: &str) -> Result<YamlJson, E> {
                Ok(YamlJson(Value::String(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<YamlJson, E> {
                Ok(YamlJson(Value::String(s)))
            }
            fn visit_none<E>(self) -> Result<YamlJson, E> {
                Ok(YamlJson(Value::Null))
            }
            fn visit_unit<E>(self) -> Result<YamlJson, E> {
                Ok(YamlJson(Value::Null))
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<YamlJson, D::Error> {
                YamlJson::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlJson, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(YamlJson(v)) = seq.next_element()? {
                    items.push(v);
                }
                Ok(YamlJson(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlJson, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some((k, YamlJson(v))) = map.next_entry::<String, YamlJson>()? {
                    object.insert(k, v);
                }
                Ok(YamlJson(Value::Object(object)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Records a skipped file (or document) with a warning naming it and what is wrong.
fn skip_file(path: &Path, stats: &mut DumpStats, why: &str) {
    stats.skipped += 1;
    stats.warn(format!("{}: skipped: {why}", path.display()));
}

/// The byte offset where YAML flow collections (`[`, `{`) nest deeper than `max`, if they do.
/// Quoted scalars and comments are skipped; block nesting is bounded by the parser's own
/// recursion limit, which fails fast.
fn yaml_flow_depth_over(text: &str, max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (_, b'\n') if comment => comment = false,
            _ if comment => {}
            (Some(b'"'), b'\\') => i += 1,
            (Some(b'\''), b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'#') if i == 0 || bytes[i - 1].is_ascii_whitespace() => comment = true,
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Reads one JSON document. `file` is the file's text when `bytes` is it (positions in errors
/// are then given in the file), None when `bytes` was converted from YAML (positions in it
/// would point at nothing the user has, so they are left out).
fn read_json_document(
    path: &Path,
    bytes: &[u8],
    file: Option<&[u8]>,
    stats: &mut DumpStats,
    emit: &mut dyn FnMut(Object, &mut DumpStats),
) -> Result<(), DumpError> {
    let mut at = Locator::new(file);
    let parse_error = |e: serde_json::Error| DumpError::Parse {
        path: path.to_path_buf(),
        format: "JSON",
        message: e.to_string(),
    };
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[') => {
            // A bare JSON array (`jq '.items'` output): a list whose items carry their kind.
            let items: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(parse_error)?;
            for (i, raw) in items.iter().enumerate() {
                read_item(path, i, raw.get(), None, None, &mut at, stats, emit);
            }
            return Ok(());
        }
        Some(_) => {
            // Validate first: a syntax error stays an error; a well-formed scalar is skipped.
            serde_json::from_slice::<&RawValue>(bytes).map_err(parse_error)?;
            skip_file(
                path,
                stats,
                "a JSON scalar, not a Kubernetes object or list",
            );
            return Ok(());
        }
        None => {
            skip_file(path, stats, "empty file");
            return Ok(());
        }
    }
    if let Some(objects) = read_typed_list(bytes) {
        for o in objects {
            emit(o, stats);
        }
        return Ok(());
    }
    let top: Top = serde_json::from_slice(bytes).map_err(parse_error)?;
    let (Ok(kind), Ok(api_version)) = (raw_string(top.kind), raw_string(top.api_version)) else {
        skip_file(path, stats, "`kind` or `apiVersion` is not a string");
        return Ok(());
    };
    // An empty typed list, as `kubectl cluster-info dump` writes one: Go marshals the nil
    // slice a protobuf answer decodes to as `"items": null`. Nothing to read, nothing wrong.
    if top.items.is_some_and(|r| r.get() == "null")
        && kind.as_deref().is_some_and(|k| k.ends_with("List"))
    {
        return Ok(());
    }
    // A list without `items` (Go always writes the field): say so, not "kind EventList is not
    // used", which is what reading it as one object would say.
    if top.items.is_none()
        && let Some(k) = kind.as_deref().filter(|k| k.ends_with("List"))
    {
        skip_file(path, stats, &format!("{k} without `items`"));
        return Ok(());
    }
    match top.items.filter(|r| r.get() != "null") {
        Some(raw_items) => {
            let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw_items.get()) else {
                skip_file(path, stats, "`items` is not a list");
                return Ok(());
            };
            // `PodList` -> `Pod`; `List` items carry their own kind.
            let list_kind = kind
                .as_deref()
                .and_then(|k| k.strip_suffix("List"))
                .filter(|k| !k.is_empty())
                .map(str::to_string);
            for (i, raw) in items.iter().enumerate() {
                read_item(
                    path,
                    i,
                    raw.get(),
                    list_kind.as_deref(),
                    api_version.as_deref(),
                    &mut at,
                    stats,
                    emit,
                );
            }
        }
        None if kind.is_some() => {
            let raw = std::str::from_utf8(bytes).unwrap_or("");
            read_item(
                path,
                0,
                raw,
                kind.as_deref(),
                api_version.as_deref(),
                &mut at,
                stats,
                emit,
            );
        }
        None => skip_file(
            path,
            stats,
            "not a Kubernetes object or list (no kind, no items)",
        ),
    }
    Ok(())
}

/// One pass over a typed list (`PodList`, `EventList`, ...) whose `kind` and `apiVersion` come
/// before its `items`, as kubectl and every Go client write them: each item is decoded straight
/// into its projection, without first finding where items start and end. `None` when the
/// document is anything else (a `List`, an object, keys in another order, `items: null`) or
/// when any item does not decode or project: the caller then reads it item by item, which
/// skips and names what it cannot read.
fn read_typed_list(bytes: &[u8]) -> Option<Vec<Object>> {
    use serde::de::{self, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

    struct Top;
    impl<'de> Visitor<'de> for Top {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a typed Kubernetes list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Object>, A::Error> {
            let (mut kind, mut api_version, mut items) = (None::<String>, None::<String>, None);
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "kind" if kind.is_none() => kind = Some(map.next_value()?),
                    "apiVersion" if api_version.is_none() => api_version = Some(map.next_value()?),
                    "items" if items.is_none() => {
                        let api_version = api_version
                            .as_deref()
                            .ok_or_else(|| A::Error::custom("items before apiVersion"))?;
                        let kind = kind
                            .as_deref()
                            .and_then(|k| k.strip_suffix("List"))
                            .and_then(|k| Kind::from_type(k, api_version))
                            .ok_or_else(|| A::Error::custom("not a typed list of a read kind"))?;
                        let events_v1 = api_version.starts_with("events.k8s.io");
                        items = Some(map.next_value_seed(Items { kind, events_v1 })?);
                    }
                    "kind" | "apiVersion" | "items" => {
                        return Err(A::Error::custom("a key twice"));
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            items.ok_or_else(|| A::Error::custom("no items"))
        }
    }

    #[derive(Clone, Copy)]
    struct Items {
        kind: Kind,
        events_v1: bool,
    }
    impl<'de> DeserializeSeed<'de> for Items {
        type Value = Vec<Object>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Items {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of objects")
        }
        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Vec<Object>, S::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(o) = seq.next_element_seed(Item(self))? {
                out.push(o);
            }
            Ok(out)
        }
    }

    struct Item(Items);
    impl<'de> DeserializeSeed<'de> for Item {
        type Value = Object;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
            Object::decode(self.0.kind, self.0.events_v1, d)
                .map(|(o, _)| o)
                .map_err(D::Error::custom)
        }
    }

    // Not UTF-8 anywhere (even in a field that is skipped) is not JSON: the item-by-item
    // reading says where.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let objects = de::Deserializer::deserialize_map(&mut de, Top).ok()?;
    de.end().ok()?;
    Some(objects)
}

/// Finds where an item's text starts in its file, to give decoding errors (which serde_json
/// places within the item) in the file's lines and columns. Items are located in file order, so
/// the lines are counted once per file.
struct Locator<'a> {
    file: Option<&'a [u8]>,
    /// The last offset located, its line (1-based) and where that line starts.
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Locator<'a> {
    fn new(file: Option<&'a [u8]>) -> Locator<'a> {
        Locator {
            file,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The line and column (1-based) where `item` starts, when it is a slice of the file.
    fn start(&mut self, item: &str) -> Option<(usize, usize)> {
        let file = self.file?;
        let offset = (item.as_ptr() as usize).checked_sub(file.as_ptr() as usize)?;
        if offset + item.len() > file.len() {
            return None;
        }
        if offset < self.offset {
            (self.offset, self.line, self.line_start) = (0, 1, 0);
        }
        for (i, b) in file[self.offset..offset].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = offset;
        Some((self.line, offset - self.line_start + 1))
    }

    /// A decoding error of `item` with serde_json's `at line L column C` (counted from the
    /// item's start) given in the file, or left out when the file's position is unknown.
    fn relocate(&mut self, item: &str, problem: String) -> String {
        let Some((text, position)) = problem.rsplit_once(" at line ") else {
            return problem;
        };
        let Some((line, column)) = position
            .split_once(" column ")
            .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)))
        else {
            return problem;
        };
        match self.start(item) {
            Some((start_line, start_column)) => {
                let column = if line == 1 {
                    start_column + column.saturating_sub(1)
                } else {
                    column
                };
                format!("{text} at line {} column {column}", start_line + line - 1)
            }
            None => text.to_string(),
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the item, what its list says of it, and where the results go"
)]
fn read_item(
    path: &Path,
    index: usize,
    raw: &str,
    list_kind: Option<&str>,
    list_api_version: Option<&str>,
    at: &mut Locator<'_>,
    stats: &mut DumpStats,
    emit: &mut dyn FnMut(Object, &mut DumpStats),
) {
    // Items of a typed list (`PodList`) are parsed once, straight into their type; only the
    // items of a `List` (and single objects) need a first look at their kind.
    let (kind, api_version) = match list_kind {
        Some(k) => (k.to_string(), list_api_version.unwrap_or("").to_string()),
        None => match serde_json::from_str::<Peek>(raw) {
            Ok(p) => (
                p.kind.unwrap_or_default(),
                p.api_version.unwrap_or_default(),
            ),
            Err(e) => {
                stats.skipped += 1;
                let e = at.relocate(raw, e.to_string());
                stats.warn(format!("{}: item {index}: skipped: {e}", path.display()));
                return;
            }
        },
    };
    // Built only when something is skipped: naming the object costs a second parse.
    let who = |kind: &str| -> String {
        let meta = serde_json::from_str::<Peek>(raw)
            .ok()
            .and_then(|p| p.metadata)
            .unwrap_or_default();
        format!(
            "{} {}{}",
            if kind.is_empty() { "object" } else { kind },
            meta.namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            meta.name.as_deref().unwrap_or("<no name>")
        )
    };
    let skip = |stats: &mut DumpStats, why: String| {
        stats.skipped += 1;
        stats.warn(format!(
            "{}: {}: skipped: {why}",
            path.display(),
            who(&kind)
        ));
    };
    match Kind::from_type(&kind, &api_version) {
        Some(k) => {
            let events_v1 = api_version.starts_with("events.k8s.io");
            match Object::from_json(k, events_v1, &mut serde_json::Deserializer::from_str(raw)) {
                Ok(obj) => emit(obj, stats),
                Err(e) => {
                    *stats.skipped_by_kind.entry(k).or_default() += 1;
                    let problem = at.relocate(raw, e.problem);
                    skip(stats, problem)
                }
            }
        }
        None if DUMP_KINDS_UNUSED.contains(&kind.as_str()) => {}
        None if kind.is_empty() => skip(stats, "no kind".into()),
        None => skip(stats, format!("kind {kind} is not used by kube-verdict")),
    }
}

/// A cluster-info dump log marker: `==== START logs for container C of pod NS/POD ====`.
fn marker<'a>(line: &'a str, word: &str) -> Option<(usize, &'a str)> {
    let prefix = format!("==== {word} logs for container ");
    let at = line.find(&prefix)?;
    let rest = &line[at + prefix.len()..];
    let (container, _) = rest.split_once(" of pod ")?;
    Some((at, container))
}

/// Reads `DIR/<ns>/<pod>/logs.txt`: each container's block between START/END markers goes to a
/// `LogScanner`. A block without END is marked truncated; a file without any marker is taken
/// as the log of the pod's only container (and skipped with a warning when there are several).
fn read_logs(
    path: &Path,
    ns: &str,
    pod: &str,
    containers: &[String],
    stats: &mut DumpStats,
    sink: &mut dyn FnMut(Change),
) -> Result<(), DumpError> {
    let f = File::open(path).map_err(|e| DumpError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut r = BufReader::with_capacity(64 * 1024, f);
    let mut buf = Vec::new();
    let mut current: Option<(String, LogScanner)> = None;
    let mut unmarked = LogScanner::new();
    let mut saw_marker = false;
    let mut emit = |container: String, facts: crate::engine::builds::LogFacts| {
        sink(Change::PodLog {
            namespace: ns.to_string(),
            pod: pod.to_string(),
            container,
            facts,
        })
    };
    loop {
        let (got, cut) =
            read_bounded_line(&mut r, &mut buf, MAX_LINE_BYTES).map_err(|e| DumpError::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
        if !got {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some((_, c)) = marker(line, "START") {
            saw_marker = true;
            if let Some((name, mut s)) = current.take() {
                s.truncated();
                emit(name, s.finish());
            }
            current = Some((c.to_string(), LogScanner::new()));
            continue;
        }
        if let Some((at, c)) = marker(line, "END") {
            saw_marker = true;
            if let Some((name, mut s)) = current.take() {
                // The END marker is glued to a last line that had no newline.
                if at > 0 {
                    s.line(&line[..at]);
                }
                if name != c {
                    s.truncated();
                }
                emit(name, s.finish());
            }
            continue;
        }
        match current.as_mut() {
            Some((_, s)) => {
                if cut {
                    s.note_cut_line();
                }
                s.line(line);
            }
            None => unmarked.line(line),
        }
    }
    if let Some((name, mut s)) = current.take() {
        s.truncated();
        stats.warn(format!(
            "{}: log of container {name} has no END marker: truncated",
            path.display()
        ));
        emit(name, s.finish());
    }
    if !saw_marker {
        let facts = unmarked.finish();
        if facts.lines > 0 {
            if containers.len() == 1 {
                stats.warn(format!(
                    "{}: no START/END markers: read as the log of container {}",
                    path.display(),
                    containers[0]
                ));
                emit(containers[0].clone(), facts);
            } else {
                stats.skipped += 1;
                stats.warn(format!(
                    "{}: skipped: no START/END markers and pod {ns}/{pod} has {} containers",
                    path.display(),
                    containers.len()
                ));
            }
        }
    }
    Ok(())
}

/// Reads one line into `buf`, keeping at most `max` bytes of it (the rest is consumed and
/// dropped). Returns (false, _) at EOF, and whether the line was cut.
fn read_bounded_line<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(bool, bool)> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let available = r.fill_buf()?;
        if available.is_empty() {
            return Ok((any, cut));
        }
        any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            cut = true;
        } else {
            buf.extend_from_slice(chunk);
        }
        let n = chunk.len();
        r.consume(n);
        if done {
            return Ok((true, cut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events the view does not keep still set the dump's `now` (issue 10 review: a dropped
    /// `Scheduled` event newer than everything else moved `now` back, and verdicts with it);
    /// bytes that are not UTF-8, even in a skipped field, still make the file an error.
    #[test]
    fn dropped_events_still_count_for_now_and_bad_utf8_is_still_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("shop");
        std::fs::create_dir(&ns).unwrap();
        let event = |name: &str, reason: &str, at: &str| {
            format!(
                r#"{{"metadata":{{"name":"{name}","namespace":"shop"}},"involvedObject":{{"kind":"Pod","name":"p","namespace":"shop"}},"reason":"{reason}","message":"m","lastTimestamp":"{at}"}}"#
            )
        };
        std::fs::write(
            ns.join("events.json"),
            format!(
                r#"{{"kind":"EventList","apiVersion":"v1","items":[{},{},{}]}}"#,
                event("a", "BackOff", "2026-11-30T10:00:00Z"),
                event("b", "Scheduled", "2026-11-30T10:05:00Z"),
                event("c", "Started", "2026-11-30T10:03:00Z")
            ),
        )
        .unwrap();
        let mut view = crate::engine::view::ClusterView::new();
        load(dir.path(), &mut |c| {
            view.apply(c);
        })
        .unwrap();
        assert_eq!(
            view.newest_timestamp().map(|t| t.to_string()).as_deref(),
            Some("2026-11-30T10:05:00Z")
        );
        assert_eq!(view.counts()[4].1, 1, "only the BackOff event is kept");

        let mut bad = br#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"a","namespace":"shop"},"x":""#.to_vec();
        bad.extend_from_slice(b"\xff\xfe");
        bad.extend_from_slice(br#"","spec":{"containers":[]}}]}"#);
        assert!(read_typed_list(&bad).is_none());
        assert!(read_document("pods.json", &bad, false).is_err());
    }

    /// A dump names at most [`MAX_DUMP_WARNINGS`] problems, then counts the others, across
    /// files too; an item that is not an object is named in Kubernetes terms, not by the
    /// decoder's type names.
    #[test]
    fn warnings_are_capped_and_name_no_internal_types() {
        let bad = |n: usize| {
            let items: Vec<String> = (0..n)
                .map(|i| {
                    format!(r#"{{"metadata":{{"name":"p{i}","namespace":"shop"}},"spec":{{"containers":7}}}}"#)
                })
                .collect();
            format!(
                r#"{{"kind":"PodList","apiVersion":"v1","items":[{}]}}"#,
                items.join(",")
            )
        };
        let (objects, warnings) =
            read_document("pods.json", bad(MAX_DUMP_WARNINGS + 500).as_bytes(), false).unwrap();
        assert!(objects.is_empty());
        assert_eq!(warnings.len(), MAX_DUMP_WARNINGS);
        assert!(
            warnings[0].contains("Pod shop/p0: skipped: malformed"),
            "{}",
            warnings[0]
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), bad(600)).unwrap();
        std::fs::write(dir.path().join("b.json"), bad(600)).unwrap();
        let stats = load(dir.path(), &mut |_| {}).unwrap();
        assert_eq!(stats.skipped, 1200, "every skip is counted");
        assert_eq!(stats.warnings.len(), MAX_DUMP_WARNINGS);
        assert_eq!(stats.warnings_more, 200);
        assert!(stats.warnings[0].contains("a.json"));
        assert!(stats.warnings[MAX_DUMP_WARNINGS - 1].contains("b.json"));

        let list =
            r#"{"kind":"List","apiVersion":"v1","items":[5, {"kind":"Pod","metadata":[1]}]}"#;
        let (_, warnings) = read_document("list.json", list.as_bytes(), false).unwrap();
        assert!(
            warnings[0].contains("expected a Kubernetes object") && !warnings[0].contains("Peek"),
            "{warnings:?}"
        );
        assert!(warnings.iter().all(|w| !w.contains("Peek")), "{warnings:?}");
    }

    /// A decoding error names its line and column in the file, not in the item (a review found
    /// `line 7` for an error on line 301); for YAML, whose positions would be in the JSON it is
    /// converted to, none.
    #[test]
    fn errors_name_the_position_in_the_file() {
        let json = "{\"kind\": \"PodList\", \"apiVersion\": \"v1\", \"items\": [\n  {\"metadata\": {\"name\": \"a\", \"namespace\": \"shop\"}, \"spec\": {\"containers\": []}},\n  {\"metadata\": {\"name\": \"b\", \"namespace\": \"shop\"}, \"spec\": {\"containers\": 7}},\n  {\"metadata\": {\"name\": \"c\", \"namespace\": \"shop\"},\n   \"spec\": {\"containers\": \"x\"}}\n]}\n";
        let (objects, warnings) = read_document("pods.json", json.as_bytes(), false).unwrap();
        assert_eq!(objects.len(), 1);
        // The `7` of line 3 is its 75th character; the string `"x"` of line 5 ends at its 29th.
        assert!(
            warnings[0].ends_with("expected a sequence at line 3 column 75"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].ends_with("expected a sequence at line 5 column 29"),
            "{warnings:?}"
        );
        let yaml = "kind: Pod\napiVersion: v1\nmetadata: {name: b, namespace: shop}\nspec: {containers: 7}\n";
        let (_, warnings) = read_document("pods.yaml", yaml.as_bytes(), true).unwrap();
        assert!(warnings[0].ends_with("expected a sequence"), "{warnings:?}");
    }

    /// YAML numbers JSON cannot hold are read as a JSON file with the same content: an integer
    /// beyond 64 bits (a review found `check` exiting 1 on one, then a whole List dropped for
    /// one in an unread field) or NaN in a field that is read skips its object, in a field that
    /// is not read it does not matter; a document of the wrong shape is skipped and the next
    /// documents of the file are still read.
    #[test]
    fn yaml_numbers_json_cannot_hold_skip_only_what_reads_them() {
        let pod = |name: &str, status: &str| {
            format!(
                "kind: Pod\napiVersion: v1\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  terminationGracePeriodSeconds: 99999999999999999999999\n  containers: [{{name: c, image: x}}]\nstatus:\n  containerStatuses: [{{name: c, imageID: '', {status}}}]\n"
            )
        };
        let doc = [
            pod("big", "ready: true, restartCount: 99999999999999999999999"),
            pod("nan", "ready: .nan, restartCount: 0"),
            pod("fine", "ready: true, restartCount: 0"),
        ]
        .join("---\n");
        let (objects, warnings) = read_document("pods.yaml", doc.as_bytes(), true).unwrap();
        let [Object::Pod(p)] = &objects[..] else {
            panic!("{objects:?} {warnings:?}")
        };
        assert_eq!(p.meta.name, "fine");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("Pod shop/big: skipped: malformed: invalid type: floating point"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("Pod shop/nan: skipped: malformed: invalid type: string \".nan\", expected a boolean"), "{warnings:?}");

        let list = format!(
            "kind: List\napiVersion: v1\nitems:\n- {{kind: ConfigMap, apiVersion: v1, metadata: {{name: c}}, data: {{k: 99999999999999999999}}}}\n- {}",
            pod("listed", "ready: true, restartCount: 0").replace('\n', "\n  ")
        );
        let (objects, _) = read_document("all.yaml", list.as_bytes(), true).unwrap();
        assert_eq!(objects.len(), 1, "{list}");

        let after_bad = format!(
            "a: !Foo {{b: 1}}\n---\n? [a, b]\n: c\n---\n{}",
            pod("after", "ready: true, restartCount: 0")
        );
        let (objects, warnings) = read_document("pods.yaml", after_bad.as_bytes(), true).unwrap();
        assert_eq!(objects.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("YAML document 1") && warnings[1].contains("YAML document 2"),
            "{warnings:?}"
        );
    }

    /// An item of a `List` (what `kubectl get pods,events -o json` writes) is read as the same
    /// object in a typed list: the last of duplicate keys wins, in the first look at its kind
    /// and name too (a review found the pod skipped as "not an object").
    #[test]
    fn list_items_with_duplicate_keys_are_read_as_in_a_typed_list() {
        let pod = r#"{"kind":"Pod","kind":"Pod","apiVersion":"v1","metadata":{"name":"old","name":"web-1","namespace":"shop","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"x"}]}}"#;
        for doc in [
            format!(r#"{{"kind":"List","apiVersion":"v1","items":[{pod}]}}"#),
            format!(r#"{{"kind":"PodList","apiVersion":"v1","items":[{pod}]}}"#),
            pod.to_string(),
        ] {
            let (objects, warnings) = read_document("pods.json", doc.as_bytes(), false).unwrap();
            assert!(warnings.is_empty(), "{doc}: {warnings:?}");
            let [Object::Pod(p)] = &objects[..] else {
                panic!("{doc}: {objects:?}")
            };
            assert_eq!(p.meta.name, "web-1");
        }
    }

    /// A typed list is read in one pass when its kind comes first (as Go writes it), and the
    /// same objects come out of the item-by-item reading otherwise; a malformed item sends the
    /// file to the item-by-item reading, which skips and names it.
    #[test]
    fn typed_lists_read_in_one_pass_or_item_by_item_alike() {
        let pod = |name: &str| {
            format!(
                r#"{{"metadata":{{"name":"{name}","namespace":"shop"}},"spec":{{"containers":[{{"name":"c","image":"x"}}]}}}}"#
            )
        };
        let go = format!(
            r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{}},"items":[{},{}]}}"#,
            pod("a"),
            pod("b")
        );
        let sorted = format!(
            r#"{{"apiVersion":"v1","items":[{},{}],"kind":"PodList","metadata":{{}}}}"#,
            pod("a"),
            pod("b")
        );
        let names = |objects: &[Object]| -> Vec<String> {
            objects.iter().map(|o| o.kind_key().1.1).collect()
        };
        let fast = read_typed_list(go.as_bytes()).expect("one pass");
        assert_eq!(names(&fast), ["a", "b"]);
        assert!(
            read_typed_list(sorted.as_bytes()).is_none(),
            "items before kind"
        );
        let (slow, warnings) = read_document("sorted.json", sorted.as_bytes(), false).unwrap();
        assert_eq!(names(&slow), names(&fast));
        assert!(warnings.is_empty());

        let bad = format!(
            r#"{{"kind":"PodList","apiVersion":"v1","items":[{},{}]}}"#,
            pod("a"),
            r#"{"metadata":{"name":"b","namespace":"shop"},"spec":{"containers":7}}"#
        );
        assert!(read_typed_list(bad.as_bytes()).is_none());
        let (objects, warnings) = read_document("bad.json", bad.as_bytes(), false).unwrap();
        assert_eq!(names(&objects), ["a"]);
        assert!(
            warnings.iter().any(|w| w.contains("Pod shop/b")),
            "{warnings:?}"
        );
    }

    #[test]
    fn bounded_reader_cuts_long_lines_and_keeps_the_next() {
        let data = format!("{}\nnext\nlast", "a".repeat(100));
        let mut r = BufReader::with_capacity(8, data.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            (true, true)
        );
        assert_eq!(buf.len(), 10);
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            (true, false)
        );
        assert_eq!(buf, b"next\n");
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            (true, false)
        );
        assert_eq!(buf, b"last");
        assert!(!read_bounded_line(&mut r, &mut buf, 10).unwrap().0);
    }

    #[test]
    fn yaml_flow_depth_ignores_quotes_and_comments() {
        assert_eq!(yaml_flow_depth_over("a: [1, {b: [2]}]\n", 3), None);
        assert_eq!(yaml_flow_depth_over("a: [1, {b: [2]}]\n", 2), Some(11));
        let quoted = format!(
            "a: \"{}\"\nb: '{}'\n# {}\n",
            "[".repeat(100),
            "{{".repeat(50),
            "[".repeat(100)
        );
        assert_eq!(yaml_flow_depth_over(&quoted, 2), None);
        assert_eq!(
            yaml_flow_depth_over("a: 'it''s [' \nb: [[[x]]]\n", 2),
            Some(19)
        );
    }

    #[test]
    fn markers_parse_with_glued_end() {
        assert_eq!(
            marker(
                "==== START logs for container kaniko of pod ci/b-1 ====",
                "START"
            ),
            Some((0, "kaniko"))
        );
        assert_eq!(
            marker(
                "last line==== END logs for container kaniko of pod ci/b-1 ====",
                "END"
            ),
            Some((9, "kaniko"))
        );
        assert_eq!(marker("INFO[0001] hello", "END"), None);
    }
}
