//! Bodies of `POST /api/v1/alertmanager/webhook` and `POST /api/v1/reports`, into the ledger.
//! Must never panic; the ledger stays within its bound.
#![no_main]

use jiff::Timestamp;
use kube_verdict::engine::ledger::{
    AlertLabels, Ledger, PlatformNames, ReportBody, ReportSource, WebhookPayload,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_second(1_795_000_000).expect("a valid time");
    let mut ledger = Ledger::with_capacity(
        jiff::SignedDuration::from_mins(30),
        PlatformNames::default(),
        8,
    );
    if let Ok(p) = serde_json::from_slice::<WebhookPayload>(data) {
        for a in &p.alerts {
            if let Ok(r) = a.to_report(&AlertLabels::default(), ReportSource::AlertmanagerWebhook) {
                let _ = ledger.submit(r, now);
            }
        }
    }
    if let Ok(b) = serde_json::from_slice::<ReportBody>(data)
        && let Ok(r) = b.to_report(now)
    {
        let _ = ledger.submit(r, now);
    }
    let _ = ledger.observe(&Default::default(), now);
    assert!(ledger.len() <= 8);
});
