//! The request's trace span: opened before the handler, entered while it
//! runs, recorded with the status when the headers go out. A body that
//! streams on after that holds the span itself (`server::observe` for the
//! braked routes, `server::passthrough` for the rest), so the span covers
//! the whole stream.
//!
//! tower-http's `TraceLayer` did the same, but its body wrapper entered the
//! span and read the clock twice for every chunk it passed on: at 50 tokens
//! per second per stream every chunk is one token, and the braked stream
//! already enters the span where its log lines need it.
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::telemetry::spans;

/// Runs the rest of the request inside its span (see the module doc).
pub(super) async fn trace_request(request: Request, next: Next) -> Response {
    let span = spans::request(&request);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    spans::responded(response.status(), started.elapsed(), &span);
    response
}
