#![no_main]
//! The streaming matcher, and the whole monitor, must not depend on how the
//! text is split: the first byte chooses a split point.
use libfuzzer_sys::fuzz_target;
use selfbrake_policies::text::MarkerMatcher;
use selfbrake_policies::{default_rules, Monitor};

fn count(parts: &[&str]) -> usize {
    let mut m = MarkerMatcher::new();
    let mut n = 0;
    for p in parts {
        for c in p.chars() {
            n += usize::from(m.push_char(c, c.is_alphanumeric()).is_some());
        }
    }
    n + usize::from(m.finish().is_some())
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut cut = usize::from(k) * text.len() / 255;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    assert_eq!(count(&[text]), count(&[&text[..cut], &text[cut..]]));
    let mut monitor = Monitor::new(&default_rules()).unwrap();
    let _ = monitor.observe(&text[..cut]);
    let _ = monitor.observe(&text[cut..]);
});
