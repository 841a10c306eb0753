//! Bounds on the free text kept from Kubernetes objects (messages, reasons) and quoted in
//! verdicts: the API server bounds none of them for core/v1 objects (whoever may create Events
//! in a namespace can write a message of megabytes), and verdicts quote them.

/// The longest free text the view keeps of one field of an object (an event's or a condition's
/// message, a container state's reason and message, a pod's status reason and message), in
/// bytes: 64 KiB. Far above what the engine decodes in real messages (a scheduler's
/// FailedScheduling message lists each distinct taint before 1.34.2, a few KiB on a large
/// cluster; a termination message is at most 4 KiB), so everything is decoded from the whole
/// text; it only keeps a hostile megabyte out of the view's memory.
pub const MAX_TEXT: usize = 64 * 1024;

/// The longest text a verdict quotes in one place (its summary, next step, a blocker's message,
/// an evidence line), in bytes: 4 KiB. Quoted after the engine has decoded what it needs.
pub const MAX_QUOTE: usize = 4096;

/// `s`, or its first [`MAX_TEXT`] bytes (cut at a character boundary) followed by `…`.
pub fn bounded(s: &str) -> std::borrow::Cow<'_, str> {
    cut(s, MAX_TEXT)
}

/// `s`, or its first `max` bytes (cut at a character boundary) followed by `…`.
pub fn cut(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    // The last character boundary at or before `max` (`floor_char_boundary` is newer than the
    // crate's minimum Rust).
    let end = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &s[..end]).into()
}
