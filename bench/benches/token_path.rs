//! The proxy's per-token path, without sockets: SSE decode → parse and
//! normalise → monitor → re-encode, in ns per token (criterion's "elements"
//! are tokens; divide the time per iteration by the token count, or read
//! the throughput line).
//!
//! The normalise stage is the adapter's own `Normaliser` (its typed fast
//! path for common chunks). Each stage is also measured alone.
#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use selfbrake::config::ReasoningField;
use selfbrake::rewrite::SseEncoder;
use selfbrake::session::SessionEvent;
use selfbrake_adapters::openai::{Normaliser, SseDecoder};
use selfbrake_adapters::BackendEvent;
use selfbrake_bench::trace;
use selfbrake_policies::{default_rules, Monitor, RuleSpec, Verdict};
use selfbrake_tests::frame::{escape, Frame};

const TOKENS: usize = 1000;

/// What vLLM would send for one synthetic trace, one token per chunk.
fn wire_chunks() -> (Vec<String>, Vec<String>) {
    let t = trace::synthetic(TOKENS);
    let f = Frame::new("chatcmpl-bench", "mock-model", 1_700_000_000);
    let chunks = t
        .reasoning
        .iter()
        .map(|tok| f.token("reasoning_content", &escape(tok), None))
        .collect();
    (chunks, t.reasoning)
}

fn idle_rules() -> Vec<RuleSpec> {
    serde_json::from_value(serde_json::json!([
        {"kind": "budget", "max_reasoning_tokens": 1_000_000_000u64},
        {"kind": "convergence", "repeats": 2},
    ]))
    .expect("rules")
}

/// The reasoning text of a chunk, through the adapter's normaliser.
fn reasoning_of(norm: &mut Normaliser, data: &str) -> Option<String> {
    norm.data(data).ok()?.into_iter().find_map(|e| match e {
        BackendEvent::Reasoning(text) => Some(text),
        _ => None,
    })
}

/// One whole stream through every stage; returns bytes written (kept alive
/// so nothing is optimised away).
fn full_path(chunks: &[String], rules: &[RuleSpec]) -> usize {
    let mut dec = SseDecoder::new(1 << 20);
    let mut norm = Normaliser::new(false);
    let mut mon = Monitor::new(rules).expect("monitor");
    let mut enc = SseEncoder::new(ReasoningField::ReasoningContent, Some("mock-model"));
    let mut out = enc
        .encode(SessionEvent::Delta(BackendEvent::Meta {
            id: "chatcmpl-bench".into(),
            model: "mock-model".into(),
            created: 1_700_000_000,
        }))
        .len();
    for c in chunks {
        for ev in dec.feed(c.as_bytes()).expect("sse") {
            let Some(text) = reasoning_of(&mut norm, &ev.data) else {
                continue;
            };
            if matches!(mon.observe(&text), Verdict::Brake(_)) {
                mon = Monitor::new(rules).expect("monitor");
            }
            out += enc
                .encode(SessionEvent::Delta(BackendEvent::Reasoning(text)))
                .len();
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let (chunks, tokens) = wire_chunks();
    let idle = idle_rules();
    let default = default_rules();
    let mut g = c.benchmark_group("token_path");
    g.throughput(Throughput::Elements(TOKENS as u64));
    g.bench_function("full/idle_rules", |b| b.iter(|| full_path(&chunks, &idle)));
    g.bench_function("full/default_rules", |b| {
        b.iter(|| full_path(&chunks, &default))
    });
    g.bench_function("sse_decode", |b| {
        b.iter(|| {
            let mut dec = SseDecoder::new(1 << 20);
            chunks
                .iter()
                .map(|c| dec.feed(c.as_bytes()).expect("sse").len())
                .sum::<usize>()
        })
    });
    let data: Vec<String> = chunks
        .iter()
        .map(|c| c.trim_start_matches("data: ").trim_end().to_string())
        .collect();
    g.bench_function("normalise", |b| {
        b.iter(|| {
            let mut norm = Normaliser::new(false);
            data.iter()
                .filter_map(|d| reasoning_of(&mut norm, d))
                .count()
        })
    });
    for (name, rules) in [
        ("monitor/idle_rules", &idle),
        ("monitor/default_rules", &default),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Monitor::new(rules).expect("monitor"),
                |mut mon| {
                    tokens
                        .iter()
                        .filter(|t| matches!(mon.observe(t), Verdict::Brake(_)))
                        .count()
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.bench_function("sse_encode", |b| {
        b.iter(|| {
            let mut enc = SseEncoder::new(ReasoningField::ReasoningContent, Some("mock-model"));
            tokens
                .iter()
                .map(|t| {
                    enc.encode(SessionEvent::Delta(BackendEvent::Reasoning(t.clone())))
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
