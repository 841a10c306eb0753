//! The `kube-verdict` binary as a user runs it: exit codes of DESIGN §3, clear errors on bad
//! input (naming the file), flags, and robustness against huge or broken logs.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::root;

fn kv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kube-verdict"))
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
        (
            vec![
                "check",
                "--dump",
                "examples/false-alarm",
                "--wait",
                "--timeout",
                "1m",
            ],
            "--wait",
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
        stderr(&o).contains("does/not/exist: not a directory"),
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

    let empty = tempfile::tempdir().unwrap();
    let o = kv(&["check", "--dump", empty.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no timestamps"), "{}", stderr(&o));
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
