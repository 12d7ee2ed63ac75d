#![no_main]
//! Extraction must never panic or slice inside a UTF-8 sequence, and whatever
//! it returns must be a substring of its input.
use libfuzzer_sys::fuzz_target;
use selfbrake_policies::text::AnswerExtractor;

fuzz_target!(|data: &str| {
    let mut ex = AnswerExtractor::default();
    for segment in data.split('\n') {
        if let Some(c) = ex.segment(segment) {
            assert!(segment.contains(c.raw.as_str()));
        }
    }
});
