//! Build containers' command lines (shell scripts split into words, every builder's
//! destinations) and their termination messages (bare digests, Tekton results, BuildKit
//! metadata). Input: argv elements separated by NUL, then a 0xFF byte, then the termination
//! message. Must never panic, and every digest read is whole.
#![no_main]

use kube_verdict::engine::builds::{BUILDERS, termination_digest, words::words};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cmd, message) = match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let text = String::from_utf8_lossy(cmd);
    let argv: Vec<String> = text.split('\0').map(str::to_string).collect();
    let _ = words(&argv);
    let mut repos = Vec::new();
    for b in BUILDERS {
        let image = argv.first().map(String::as_str).unwrap_or("");
        let _ = b.may_be_build(image, &argv);
        let _ = b.no_push(&argv);
        if let Some(dests) = b.destinations(image, &argv) {
            repos.extend(dests);
        }
    }
    let message = String::from_utf8_lossy(message);
    if let Some((d, _)) = termination_digest(&message, &repos) {
        assert_eq!(d.as_str().len(), 71);
    }
});
