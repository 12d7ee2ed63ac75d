//! The spans of one request. The request span itself is opened by the
//! pipeline (`pipeline::request_layers`); these are its children, opened by
//! the session while the request span is current.
//!
//! A request's trace reads: `request` ─┬─ `upstream` (the first generation,
//! up to its end or the cut)
//!                                     ├─ `brake` (the rule that fired, where)
//!                                     └─ `continuation` (the answer after the cut)
//!
//! A side request the session makes on its own (a `probe`) opens
//! [`probe`] the same way, so it shows beside `upstream` in the trace.
use tracing::{info_span, Span};

/// The upstream chat request, from its sending to the end of its stream.
pub fn upstream() -> Span {
    info_span!("upstream", otel.kind = "client")
}

/// The moment a rule braked, with which rule and after how many tokens.
pub fn brake(rule: &str, tokens: u64) -> Span {
    info_span!("brake", rule = %rule, reasoning_tokens = tokens)
}

/// The continuation request, from its sending to the end of the answer.
pub fn continuation(max_tokens: u32) -> Span {
    info_span!("continuation", otel.kind = "client", max_tokens)
}

/// A probe side request (a trial answer asked while the model reasons).
pub fn probe() -> Span {
    info_span!("probe", otel.kind = "client")
}
