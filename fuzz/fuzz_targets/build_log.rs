//! Build logs (kaniko's color, text and json formats, go-containerregistry digest lines, fatal
//! lines) read line by line as the dump and live sources do. Must never panic.
#![no_main]

use kube_verdict::engine::builds::LogScanner;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut scanner = LogScanner::new();
    for line in text.split('\n') {
        scanner.line(line);
    }
    let facts = scanner.finish();
    for p in &facts.pushed {
        // Every digest read is whole: `sha256:` and 64 hex digits.
        assert_eq!(p.digest.as_str().len(), 71, "{:?}", p.line);
    }
});
