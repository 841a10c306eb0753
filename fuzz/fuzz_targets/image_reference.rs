//! Image references and imageIDs as pods and build args carry them. Must never panic, and a
//! reference that parses prints as one that parses to the same thing.
#![no_main]

use kube_verdict::engine::image::{Digest, ImageId, ImageRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok(r) = ImageRef::parse(&s) {
        let again = ImageRef::parse(&r.to_string()).expect("a printed reference parses");
        assert_eq!(again, r, "{s:?}");
        let _ = (r.repository(), r.name());
    }
    let _ = ImageId::parse(&s).repo_digest();
    if let Some(d) = Digest::parse(&s) {
        assert_eq!(d.as_str().len(), 71);
        let _ = d.short();
    }
});
