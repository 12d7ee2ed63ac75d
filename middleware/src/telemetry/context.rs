//! W3C trace context in and out: the request span continues the client's
//! trace, and each upstream call carries the context of its own span.
use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use selfbrake_adapters::Propagation;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` a child of the trace the client's `traceparent` names.
/// Without tracing (no OpenTelemetry layer), or without a valid header,
/// nothing changes.
pub fn adopt_client_context(span: &Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only where no OpenTelemetry layer is installed: nothing to parent then.
        let _ = span.set_parent(parent);
    }
}

/// Puts `span`'s trace context into `propagation`, in place of the
/// client's, so the engine's spans hang under the call that caused them.
/// Without tracing the client's headers stay as they came.
pub fn inject(span: &Span, propagation: &mut Propagation) {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    let mut headers = HeaderMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
    for (name, value) in headers {
        // An empty `tracestate` is no state: leave it out.
        if let Some(name) = name.filter(|_| !value.is_empty()) {
            propagation.set(name, value);
        }
    }
}

/// Whether `span` is an OpenTelemetry span (tracing is on).
pub(super) fn is_traced(span: &Span) -> bool {
    span.context().span().span_context().is_valid()
}
