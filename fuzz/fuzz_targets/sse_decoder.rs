#![no_main]
//! The SSE decoder must never panic, and must decode the same events however
//! the bytes are split (the network splits them anywhere).
use libfuzzer_sys::fuzz_target;
use selfbrake_adapters::openai::SseDecoder;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let split = data[0] as usize % data.len();
    let body = &data[1..];
    let split = split.min(body.len());
    let mut whole = SseDecoder::new(4096);
    let expected = whole.feed(body);
    let mut parts = SseDecoder::new(4096);
    let first = parts.feed(&body[..split]);
    let second = parts.feed(&body[split..]);
    if let (Ok(expected), Ok(mut got), Ok(more)) = (expected, first, second) {
        got.extend(more);
        assert_eq!(got, expected);
    }
});
