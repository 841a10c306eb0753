//! The `kube-verdict` binary as a user runs it: exit codes of DESIGN §3, clear errors on bad
//! input (naming the file), flags, and robustness against huge or broken logs.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::root;

fn kv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
        // Registry lookups only where a test is about them: never off loopback.
        .env("KUBE_VERDICT_REGISTRY_LOOKUP", "off")
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("run kube-verdict")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn exit_codes_follow_design_section_3() {
    let o = kv(&["check", "--dump", "examples/false-alarm"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("verified")
            && text.contains("Pushed registry.example.com/shop/checkout@sha256:"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/converging-build-running",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/blocked-capacity",
    ]);
    assert_eq!(o.status.code(), Some(4));
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/stale-digest-mismatch",
    ]);
    assert_eq!(o.status.code(), Some(4));
    // 4 beats 3: unknown and blocked together
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/unknown-and-other",
    ]);
    assert_eq!(o.status.code(), Some(4));
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/unknown-and-other",
        "ghost",
    ]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (
            vec![
                "check",
                "--dump",
                "examples/false-alarm",
                "--now",
                "yesterday",
            ],
            "--now",
        ),
        (
            vec![
                "check",
                "--dump",
                "examples/false-alarm",
                "--blocked-after",
                "soon",
            ],
            "--blocked-after",
        ),
        (
            vec!["check", "--dump", "examples/false-alarm", "pod/checkout"],
            "target",
        ),
        (
            vec!["check", "--dump", "examples/false-alarm", "-o", "yaml"],
            "yaml",
        ),
        // One error, the same with or without --timeout (clap's `requires` used to answer
        // first, asking for the --timeout the next error then refused).
        (
            vec![
                "check",
                "--dump",
                "examples/false-alarm",
                "--wait",
                "--timeout",
                "1m",
            ],
            "cannot be used with",
        ),
        (
            vec!["check", "--dump", "examples/false-alarm", "--wait"],
            "the argument '--dump <DIR>' cannot be used with '--wait'",
        ),
        (
            vec!["check", "--dump", "examples/false-alarm", "--timeout", "1m"],
            "the argument '--dump <DIR>' cannot be used with '--timeout <DURATION>'",
        ),
        (vec!["check", "-n", "shop", "-A"], "cannot be used with"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let o = kv(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn unreadable_input_exits_1_naming_the_file() {
    let o = kv(&["check", "--dump", "does/not/exist"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "does/not/exist: does not exist (make a dump with `kubectl cluster-info dump"
        ),
        "{}",
        stderr(&o)
    );

    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/false-alarm"), tmp.path());
    std::fs::write(
        tmp.path().join("shop/pods.json"),
        "{\"kind\": \"PodList\", \"items\": [",
    )
    .unwrap();
    let o = kv(&["check", "--dump", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("shop/pods.json: not valid JSON"),
        "{}",
        stderr(&o)
    );

    std::fs::write(tmp.path().join("shop/pods.json"), "this is not json at all").unwrap();
    let o = kv(&["check", "--dump", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("pods.json: not valid JSON"));

    let o = kv(&[
        "check",
        "--dump",
        "examples/false-alarm",
        "no-such-deployment",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("deployment no-such-deployment not found"),
        "{}",
        stderr(&o)
    );
}

/// DESIGN §3: nothing judged is never success. Every way of judging nothing exits 3 and names
/// the scope that was searched on stderr.
#[test]
fn nothing_in_scope_exits_3_naming_the_scope() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    for args in [
        vec!["check", "--dump", dir],
        vec!["check", "--dump", dir, "--now", "2026-11-20T10:00:00Z"],
    ] {
        let o = kv(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("no Deployment in any namespace of the dump")
                && stderr(&o).contains("nothing was judged"),
            "{}",
            stderr(&o)
        );
        assert!(
            stdout(&o).contains("holds no Kubernetes objects; make a dump with"),
            "{}",
            stdout(&o)
        );
    }

    // A dump holding only pods.json.
    let only_pods = tempfile::tempdir().unwrap();
    std::fs::create_dir(only_pods.path().join("shop")).unwrap();
    std::fs::copy(
        root().join("examples/false-alarm/shop/pods.json"),
        only_pods.path().join("shop/pods.json"),
    )
    .unwrap();
    let o = kv(&[
        "check",
        "--dump",
        only_pods.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(json(&o)["deployments"], serde_json::json!([]));

    // A namespace that does not exist, alone and in a comma-separated list.
    let o = kv(&["check", "--dump", "examples/false-alarm", "-n", "nope"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("in namespace nope of the dump"),
        "{}",
        stderr(&o)
    );
    let o = kv(&[
        "check",
        "--dump",
        "examples/false-alarm",
        "-n",
        "nope, shop",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("checkout"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("warning: namespace nope: no Deployment found (check -n)"),
        "a typo in a list is named: {}",
        stderr(&o)
    );
    let o = kv(&["check", "--dump", "examples/false-alarm", "-n", "shop,"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("an empty namespace name"),
        "{}",
        stderr(&o)
    );
}

/// A badly shaped file is skipped with a warning naming it and what is wrong; the rest of the
/// dump is judged. A bare JSON array and a single file given as the dump are read.
#[test]
fn badly_shaped_files_are_skipped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/false-alarm"), tmp.path());
    let bad = [
        (
            "items.json",
            "{\"kind\": \"List\", \"items\": 5}",
            "`items` is not a list",
        ),
        (
            "kind.json",
            "{\"kind\": [1], \"items\": []}",
            "`kind` or `apiVersion` is not a string",
        ),
        (
            "scalar.yaml",
            "just a string\n",
            "YAML document 1 is a scalar",
        ),
        ("number.json", "42", "a JSON scalar"),
        (
            "bom.yaml",
            "\u{feff}kind: List\nitems: {}\n",
            "`items` is not a list",
        ),
        (
            "deep.yaml",
            &"a: {".repeat(50_000),
            "YAML nested deeper than 64 levels",
        ),
        (
            "block.yaml",
            &format!("{}1\n", "- ".repeat(200)),
            "YAML document 1: recursion limit exceeded",
        ),
        (
            // "Billion laughs": each alias expands the one before it ten times.
            "laughs.yaml",
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
            "YAML document 1: repetition limit exceeded",
        ),
        (
            "keys.yaml",
            &format!("{}a\n", "? ".repeat(5)),
            "YAML document 1: invalid type",
        ),
        (
            "no-items.json",
            "{\"kind\": \"EventList\", \"apiVersion\": \"v1\", \"metadata\": {}}",
            "EventList without `items`",
        ),
        (
            // An item without a kind is named by what it is, not by an empty kind.
            "kindless.json",
            "{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": [{\"kind\": null, \"metadata\": {\"name\": \"y\", \"namespace\": \"ns\"}}]}",
            "object ns/y: skipped: no kind",
        ),
    ];
    // An empty list as `kubectl cluster-info dump` writes it (a nil slice marshalled by Go) is
    // no problem: no warning.
    std::fs::write(
        tmp.path().join("replication-controllers.json"),
        "{\"kind\": \"ReplicationControllerList\", \"apiVersion\": \"v1\", \"metadata\": {\"resourceVersion\": \"123\"}, \"items\": null}",
    )
    .unwrap();
    for (name, text, _) in &bad {
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    // A FIFO named like a dump file is not read (it would block for ever).
    assert!(
        Command::new("mkfifo")
            .arg(tmp.path().join("fifo.json"))
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    let o = kv(&["check", "--dump", tmp.path().to_str().unwrap()]);
    eprintln!(
        "check with a 200 kB nested YAML file took {:?}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("verified"), "{text}");
    for (name, _, why) in &bad {
        let said = match why.strip_prefix("object ") {
            Some(_) => format!("{name}: {why}"),
            None => format!("{name}: skipped: {why}"),
        };
        assert!(text.contains(&said), "{name}: {text}");
    }
    assert!(!text.contains("replication-controllers.json"), "{text}");

    // `jq .items` output (a bare array) and a single file as the dump.
    let pods: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("examples/false-alarm/shop/deployments.json")).unwrap(),
    )
    .unwrap();
    let mut items = pods["items"].as_array().unwrap().clone();
    for i in &mut items {
        i["kind"] = "Deployment".into();
        i["apiVersion"] = "apps/v1".into();
    }
    let one = tmp.path().join("one.json");
    std::fs::write(&one, serde_json::to_vec(&items).unwrap()).unwrap();
    let o = kv(&[
        "check",
        "--dump",
        one.to_str().unwrap(),
        "--now",
        "2026-11-20T10:00:00Z",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("checkout"), "{}", stdout(&o));
    let o = kv(&["check", "--dump", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("neither a directory nor a .json/.yaml file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn json_output_has_the_design_shape() {
    let o = kv(&["check", "--dump", "examples/false-alarm", "-o", "json"]);
    let v = json(&o);
    assert_eq!(v["now"], "2026-11-20T10:01:58Z");
    let d = &v["deployments"][0];
    for key in [
        "namespace",
        "name",
        "verdict",
        "cause",
        "owner",
        "summary",
        "next_step",
        "containers",
        "blockers",
        "evidence",
    ] {
        assert!(d.get(key).is_some(), "missing {key}");
    }
    let c = &d["containers"][0];
    assert_eq!(c["build"]["builder"], "kaniko");
    assert_eq!(c["build"]["status"], "succeeded");
    assert_eq!(c["digest_match"], true);
    assert!(d["next_step"].is_null());
}

#[test]
fn now_namespace_and_target_selection() {
    // --now overrides the dump's clock: at 10:00:30 the young blocker is 10 s old.
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/converging-young-blocker",
        "--now",
        "2026-11-20T10:30:00Z",
        "-o",
        "json",
    ]);
    assert_eq!(json(&o)["deployments"][0]["verdict"], "blocked");
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/converging-scaling-up",
        "-n",
        "streams",
        "-o",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(v["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(v["deployments"][0]["namespace"], "streams");
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/blocked-placement",
        "deployment/host-port",
        "deploy/zone-spread",
        "-o",
        "json",
    ]);
    let names: Vec<String> = json(&o)["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["host-port", "zone-spread"]);
}

#[test]
fn owners_file_overrides_the_default_table() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("owners.yaml");
    std::fs::write(
        &f,
        "untolerated_taint: infrastructure\ndigest_mismatch: application\n",
    )
    .unwrap();
    let o = kv(&[
        "check",
        "--dump",
        "tests/fixtures/scenarios/blocked-placement",
        "gpu-untolerated",
        "--owners",
        f.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(v["deployments"][0]["owner"], "infrastructure");
    assert_eq!(
        v["deployments"][0]["blockers"][0]["owner"],
        "infrastructure"
    );
    std::fs::write(&f, "insufficient_cpu: nobody\n").unwrap();
    let o = kv(&[
        "check",
        "--dump",
        "examples/false-alarm",
        "--owners",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("owner \"nobody\""), "{}", stderr(&o));
    std::fs::write(&f, "made_up_reason: platform\n").unwrap();
    let o = kv(&[
        "check",
        "--dump",
        "examples/false-alarm",
        "--owners",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown cause \"made_up_reason\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_50_mb_build_log_and_a_log_without_markers_are_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/false-alarm"), tmp.path());
    let log_dir = std::fs::read_dir(tmp.path().join("ci"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let log = log_dir.join("logs.txt");
    let original = std::fs::read_to_string(&log).unwrap();
    // 50 MB of build output before the push, including one 10 MB line without a newline break.
    let (head, tail) = original.split_at(original.find("Pushing image").unwrap() - 20);
    let mut big = String::with_capacity(52 << 20);
    big.push_str(head);
    let line = format!("{}\n", "npm notice ".repeat(20));
    while big.len() < 40 << 20 {
        big.push_str(&line);
    }
    big.push_str(&"y".repeat(10 << 20));
    big.push('\n');
    big.push_str(tail);
    std::fs::write(&log, big).unwrap();
    let o = kv(&[
        "check",
        "--dump",
        tmp.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["deployments"][0]["verdict"], "verified");

    // The same log without the dump's START/END markers: read as the only container's log.
    let unmarked: String = original
        .lines()
        .filter(|l| !l.starts_with("===="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&log, unmarked).unwrap();
    let o = kv(&[
        "check",
        "--dump",
        tmp.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(v["deployments"][0]["verdict"], "verified");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no START/END markers: read as the log of container kaniko")
    );

    // Truncated mid-line (no END marker, no trailing newline) before the push: the build is
    // known but proves nothing, so the verdict is complete/digest_unavailable, not verified.
    let cut = &original[..original.find("Pushing image").unwrap()];
    std::fs::write(&log, cut).unwrap();
    let o = kv(&[
        "check",
        "--dump",
        tmp.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(v["deployments"][0]["verdict"], "complete", "{v}");
    assert_eq!(v["deployments"][0]["cause"], "digest_unavailable");
}

#[test]
fn yaml_and_single_object_files_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/false-alarm"), tmp.path());
    // Replace jobs.json by a YAML stream of single Jobs (`kubectl get job X -o yaml` each).
    let jobs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("jobs.json")).unwrap())
            .unwrap();
    std::fs::remove_file(tmp.path().join("jobs.json")).unwrap();
    let docs: Vec<String> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| serde_yaml::to_string(j).unwrap())
        .collect();
    std::fs::write(tmp.path().join("ci/jobs.yaml"), docs.join("---\n")).unwrap();
    let o = kv(&[
        "check",
        "--dump",
        tmp.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["deployments"][0]["verdict"], "verified");
    std::fs::write(tmp.path().join("ci/broken.yaml"), "kind: [unclosed").unwrap();
    let o = kv(&["check", "--dump", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("broken.yaml: not valid YAML"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn color_always_paints_and_help_explains() {
    let o = kv(&[
        "check",
        "--dump",
        "examples/false-alarm",
        "--color",
        "always",
    ]);
    assert!(stdout(&o).contains("\x1b[32m"));
    let o = kv(&["check", "--help"]);
    let h = stdout(&o);
    for needle in [
        "--dump",
        "--now",
        "--blocked-after",
        "--rollout-grace",
        "--link-builds",
        "--owners",
        "Exit codes",
    ] {
        assert!(h.contains(needle), "help lacks {needle}");
    }
}

/// No input may panic the process: a name longer than `format!`'s 65,535 width limit is printed
/// in the text report (it once exited 101).
#[test]
fn huge_names_do_not_panic_the_text_report() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/false-alarm"), tmp.path());
    let path = tmp.path().join("shop/deployments.json");
    let mut list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let long = "d".repeat(70_000);
    list["items"][0]["metadata"]["name"] = long.clone().into();
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
    for color in ["never", "always"] {
        let o = kv(&[
            "check",
            "--dump",
            tmp.path().to_str().unwrap(),
            "--color",
            color,
        ]);
        assert!(matches!(o.status.code(), Some(0 | 3 | 4)), "{}", stderr(&o));
        assert!(stdout(&o).contains(&long), "{color}");
        let header = stdout(&o)
            .lines()
            .find(|l| l.starts_with("NAMESPACE"))
            .unwrap()
            .to_string();
        assert!(header.len() < 400, "the column is capped: {header}");
    }
}

/// Shell completions and the man page come from the same clap definition as `--help`.
#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let o = kv(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let text = stdout(&o);
        // fish names long flags without their dashes (`-l kubeconfig`).
        assert!(
            text.contains("scale-up-window") && text.contains("kubeconfig"),
            "{shell}"
        );
    }
    let o = kv(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(".TH kube-verdict 1"), "{}", stdout(&o));
    for sub in ["check", "serve"] {
        let o = kv(&["man", sub]);
        let page = stdout(&o);
        assert!(
            page.contains(&format!(".TH kube-verdict-{sub} 1")),
            "{page}"
        );
        assert!(
            page.contains("scale\\-up\\-window"),
            "{sub}: its flags are listed"
        );
    }
    // Bash really completes a subcommand's flags (clap's script mislabels hyphenated names).
    if support::require_tool("bash") {
        let script = stdout(&kv(&["completions", "bash"]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bash");
        std::fs::write(&path, script).unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=(kube-verdict check --scale); COMP_CWORD=2; _kube_verdict kube-verdict --scale check; echo \"${{COMPREPLY[@]}}\"",
                path.display()
            ))
            .output()
            .unwrap();
        assert_eq!(stdout(&out).trim(), "--scale-up-window", "{}", stderr(&out));
    }
    let o = kv(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The README's synopses name every flag `--help` shows, so neither drifts from the other.
#[test]
fn readme_synopses_match_help() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for sub in ["check", "serve"] {
        let start = readme
            .find(&format!("kube-verdict {sub} ["))
            .unwrap_or_else(|| panic!("no {sub} synopsis in the README"));
        let synopsis = &readme[start..start + readme[start..].find("```").unwrap()];
        let help = stdout(&kv(&[sub, "--help"]));
        // Option lines: `  -n, --namespace <NS>` or `      --dump <DIR>`.
        let options: Vec<Vec<String>> = help
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with('-'))
            .map(|l| {
                l.split_whitespace()
                    .take_while(|w| w.starts_with('-') && w.len() > 1)
                    .map(|w| w.trim_end_matches(',').to_string())
                    .filter(|w| w != "--help" && w != "-h" && w != "--version" && w != "-V")
                    .collect::<Vec<String>>()
            })
            .filter(|v| !v.is_empty())
            .collect();
        assert!(
            options.len() > 10,
            "{sub}: options read from --help: {options:?}"
        );
        let shown =
            |f: &String| synopsis.contains(&format!("{f} ")) || synopsis.contains(&format!("{f}]"));
        let missing: Vec<&Vec<String>> = options
            .iter()
            .filter(|names| !names.iter().any(shown))
            .collect();
        assert!(
            missing.is_empty(),
            "{sub}: the README synopsis lacks {missing:?}"
        );
    }
}

/// A dump with more malformed objects than it names (1,000): the JSON counts the rest in
/// `warnings_omitted`, the text total includes them, and what the user can fix (a namespace
/// typo) comes first, not after a thousand lines about the dump's objects.
#[test]
fn many_warnings_are_counted_and_the_scope_warning_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/false-alarm"), dir.path());
    let items: Vec<String> = (0..1100)
        .map(|i| format!(r#"{{"metadata":{{"name":"bad-{i}","namespace":"shop"}},"spec":{{"containers":7}}}}"#))
        .collect();
    std::fs::write(
        dir.path().join("shop/zz-bad-pods.json"),
        format!(
            r#"{{"kind":"PodList","apiVersion":"v1","items":[{}]}}"#,
            items.join(",")
        ),
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let o = kv(&["check", "--dump", d, "-n", "nope,shop", "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1001);
    assert_eq!(
        warnings[0],
        "namespace nope: no Deployment found (check -n)"
    );
    assert!(
        warnings[1]
            .as_str()
            .unwrap()
            .contains("Pod shop/bad-0: skipped")
    );
    assert_eq!(json["warnings_omitted"], 100);
    let o = kv(&["check", "--dump", d, "-n", "nope,shop"]);
    let text = stdout(&o);
    assert!(
        text.contains("warnings (1101):\n  - namespace nope: no Deployment found"),
        "{text}"
    );
    assert!(
        text.contains("... and 981 more (see -o json)\n  ... and 100 more, counted but not named"),
        "{text}"
    );
}

/// A dump whose only objects are malformed pods says so, not that it holds no objects.
#[test]
fn a_dump_of_only_malformed_objects_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("shop")).unwrap();
    std::fs::write(
        dir.path().join("shop/pods.json"),
        r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"a","namespace":"shop"},"spec":{"containers":7}}]}"#,
    )
    .unwrap();
    let o = kv(&[
        "check",
        "--dump",
        dir.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let first = json["warnings"][0].as_str().unwrap();
    assert!(
        first.ends_with(
            "nothing to judge: 1 objects of the kinds kube-verdict reads could not be read (see the warnings below)"
        ),
        "{first}"
    );
    assert!(!stdout(&o).contains("holds no"), "{}", stdout(&o));
}
