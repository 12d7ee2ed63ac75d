#![no_main]
//! Normalisation must never panic and must be idempotent on its own output.
use libfuzzer_sys::fuzz_target;
use selfbrake_policies::text::normalize;

fuzz_target!(|data: &str| {
    let once = normalize(data);
    let _ = normalize(&once);
});
