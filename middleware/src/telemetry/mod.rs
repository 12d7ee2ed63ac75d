//! OpenTelemetry traces: every request's tracing span, with its children
//! (the upstream call, the brake, the continuation), exported over
//! OTLP/HTTP, and the W3C trace context taken from the client and passed
//! upstream.
//!
//! The exporter runs on the SDK's batch thread with its own HTTP client: a
//! finished span is handed over with a non-blocking `try_send` (dropped if
//! the queue is full), so a slow or absent collector never slows a request.
mod context;
mod spanned;
pub mod spans;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{ConfigError, TelemetryConfig};

pub use context::{adopt_client_context, inject};
pub use spanned::{in_span, Spanned};

/// How long one batch may take to reach the collector, on the batch thread.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The running exporter. Dropping it flushes the spans still queued (up to
/// 5 s) and stops the batch thread: keep it for the life of the process.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// The exporter `config` asks for, or `None` when `otlp_endpoint` is
    /// unset. Blocks briefly: the exporter's HTTP client is built on a
    /// thread of its own. Nothing is sent until spans end.
    pub fn start(config: &TelemetryConfig) -> Result<Option<Telemetry>, ConfigError> {
        let Some(url) = config.traces_url() else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| ConfigError::at("telemetry.otlp_endpoint", e.to_string()))?;
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .build();
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource)
            .build();
        Ok(Some(Telemetry { provider }))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("selfbrake"))
            // The request and upstream spans are entered on every token's
            // poll: timing each entry (busy/idle), or making its context the
            // current OpenTelemetry context (no other OpenTelemetry
            // instrumentation runs here to read it), would cost per token.
            .with_tracked_inactivity(false)
            .with_context_activation(false)
            // Async spans hop threads: the creating thread says nothing.
            .with_threads(false)
    }

    /// Sends the spans queued so far now, rather than at the next batch
    /// (every 5 s). Blocks until the collector answered or timed out.
    pub fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!(error = %e, "flushing spans");
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "shutting the span exporter down");
        }
    }
}
