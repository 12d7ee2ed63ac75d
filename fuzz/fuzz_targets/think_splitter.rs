#![no_main]
//! The `<think>` splitter must never panic or cut inside a UTF-8 character,
//! and must classify text the same way however the content is chunked.
use libfuzzer_sys::fuzz_target;
use selfbrake_adapters::format::{Piece, ThinkSplitter};

fn run(chunks: &[&str], assume_open: bool) -> (String, String) {
    let mut splitter = ThinkSplitter::new(assume_open);
    let (mut reasoning, mut content) = (String::new(), String::new());
    let mut pieces = Vec::new();
    for chunk in chunks {
        pieces.extend(splitter.push(chunk));
    }
    pieces.extend(splitter.flush());
    for piece in pieces {
        match piece {
            Piece::Reasoning(text) => reasoning.push_str(&text),
            Piece::Content(text) => content.push_str(&text),
        }
    }
    (reasoning, content)
}

fuzz_target!(|input: (bool, u16, &str)| {
    let (assume_open, at, text) = input;
    let mut split = (at as usize) % (text.len() + 1);
    while !text.is_char_boundary(split) {
        split -= 1;
    }
    let whole = run(&[text], assume_open);
    let parts = run(&[&text[..split], &text[split..]], assume_open);
    assert_eq!(whole, parts);
});
