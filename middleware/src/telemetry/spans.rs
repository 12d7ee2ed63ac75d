//! The spans of one request: [`request`], opened by the pipeline
//! (`pipeline::request_layers`), and its children, opened by the session
//! while the request span is current.
//!
//! A request's trace reads: `request` ─┬─ `upstream` (the first generation,
//! up to its end or the cut)
//!                                     ├─ `brake` (the rule that fired, where)
//!                                     └─ `continuation` (the answer after the cut)
//!
//! A side request the session makes on its own (a `probe`) opens
//! [`probe`] the same way, so it shows beside `upstream` in the trace.
use std::fmt::Display;
use std::time::Duration;

use axum::http::{Request, StatusCode};
use tracing::field::{display, Empty};
use tracing::{info_span, Span};

use crate::pipeline::REQUEST_ID;

/// Probe routes, polled every few seconds by every load balancer and
/// kubelet: no span, so they fill no trace store.
const PROBES: &[&str] = &["/healthz", "/readyz"];

/// The request's own span, which every log line of the request carries
/// (with its id), continuing the client's trace where it sent one.
pub fn request<B>(request: &Request<B>) -> Span {
    if PROBES.contains(&request.uri().path()) {
        return Span::none();
    }
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let span = info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        http.response.status_code = Empty,
        otel.status_code = Empty
    );
    super::adopt_client_context(&span, request.headers());
    span
}

/// Records the response's status on the request span (a 5xx marks it
/// failed). The body may stream on long after this.
pub fn responded(status: StatusCode, latency: Duration, span: &Span) {
    // An i64, so it is exported as an integer attribute (a u64 goes as a string).
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    tracing::debug!(
        status = status.as_u16(),
        latency_ms = latency.as_millis(),
        "response headers sent"
    );
}

/// The upstream chat request, from its sending to the end of its stream.
pub fn upstream() -> Span {
    info_span!(
        "upstream",
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty
    )
}

/// The moment a rule braked, with which rule and after how many tokens.
pub fn brake(rule: &str, tokens: u64) -> Span {
    info_span!("brake", rule = %rule, reasoning_tokens = tokens)
}

/// The continuation request, from its sending to the end of the answer.
pub fn continuation(max_tokens: u32) -> Span {
    info_span!(
        "continuation",
        otel.kind = "client",
        max_tokens,
        otel.status_code = Empty,
        otel.status_description = Empty
    )
}

/// Marks an `upstream` or `continuation` span failed, with the error's own
/// text (a status, a timeout: never model output).
pub fn failed(span: &Span, error: &dyn Display) {
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_description", display(error));
}

/// A probe side request (a trial answer asked while the model reasons).
pub fn probe() -> Span {
    info_span!(
        "probe",
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty
    )
}
