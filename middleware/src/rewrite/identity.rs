use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, for `created`.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The completion id used when the upstream sent none.
pub fn fallback_id(created: u64) -> String {
    format!("chatcmpl-sb{created:x}{:x}", std::process::id())
}
