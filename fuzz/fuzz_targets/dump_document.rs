//! Dump files (JSON and YAML, lists and single objects of every kind), then the whole engine
//! on what they hold: the view, the builds and every verdict. Must never panic. The first
//! byte chooses JSON (even) or YAML (odd).
#![no_main]

use kube_verdict::engine::builds::collect_builds;
use kube_verdict::engine::view::{Change, ClusterView, Kind};
use kube_verdict::engine::{Policy, judge_all};
use kube_verdict::sources::dump::read_document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let yaml = mode % 2 == 1;
    let Ok((objects, _warnings)) = read_document("fuzz", bytes, yaml) else {
        return;
    };
    let mut view = ClusterView::new();
    for o in objects {
        view.apply(Change::Apply(o));
    }
    for k in Kind::ALL {
        view.apply(Change::Synced(k));
    }
    let now = view
        .newest_timestamp()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let builds = collect_builds(&view);
    for v in judge_all(&view, &builds, &Policy::default(), now) {
        assert!(!v.summary.is_empty());
        let _ = serde_json::to_string(&v).expect("a verdict serializes");
    }
});
