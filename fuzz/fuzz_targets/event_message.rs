//! Event and condition messages: FailedScheduling histograms of every version, image pull,
//! mount, ReplicaSet and Karpenter texts. Must never panic.
#![no_main]

use kube_verdict::engine::events::{
    classify_filter_reason, classify_image_pull, classify_karpenter_failure, classify_mount,
    classify_replica_failure, parse_failed_scheduling,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = String::from_utf8_lossy(data);
    if let Some(f) = parse_failed_scheduling(&m, &[]) {
        let _ = f.primary();
        assert!(f.reasons.iter().all(|r| !r.text.is_empty() || r.nodes == 0));
    }
    let _ = classify_filter_reason(&m, &[]);
    let _ = classify_image_pull(&m);
    let _ = classify_mount(&m);
    let _ = classify_replica_failure(&m);
    let _ = classify_karpenter_failure(&m);
});
