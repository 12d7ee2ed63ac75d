//! Prometheus metrics: what braking saves, per tenant, and what the proxy costs.
//!
//! One [`Metrics`] lives for the whole process (it survives config reloads);
//! `GET /metrics` renders it in the Prometheus text format.
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub tenant: String,
    pub policy: String,
    /// `completed`, `braked`, `failed` (after the response started) or `rejected` (an error status).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BrakeLabels {
    pub tenant: String,
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub tenant: String,
    /// As in [`RequestLabels::outcome`], plus `cancelled` (the client left).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BrakedLabels {
    pub tenant: String,
    /// `true` or `false`.
    pub braked: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    pub backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// All of selfbrake's metrics.
///
/// Every request clones the metrics (into its state and its observers): one
/// shared pointer, not one per family, so a clone and a drop are one atomic
/// operation instead of twenty on lines that every core writes (both showed
/// in profiles of short requests).
#[derive(Clone)]
pub struct Metrics(Arc<MetricSet>);

impl std::ops::Deref for Metrics {
    type Target = MetricSet;

    fn deref(&self) -> &MetricSet {
        &self.0
    }
}

/// The registry and its families, reached through `Metrics`.
pub struct MetricSet {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub brakes: Family<BrakeLabels, Counter>,
    pub reasoning_tokens: Family<TenantLabels, Counter>,
    pub answer_tokens: Family<TenantLabels, Counter>,
    /// Probes sent (the `probe` rule) and their tokens as billed.
    pub probes: Family<TenantLabels, Counter>,
    pub probe_tokens: Family<TenantLabels, Counter>,
    pub upstream_first_byte: HistogramFamily<BackendLabels>,
    pub overhead: Histogram,
    pub streams_in_flight: Gauge,
    pub reloads: Family<ResultLabels, Counter>,
    /// Admissions the shared limits store could not answer (admitted or
    /// refused as `limits.on_store_error` says).
    pub limits_store_errors: Counter,
    /// From the request's arrival to its first reasoning or answer text.
    pub time_to_first_token: HistogramFamily<TenantLabels>,
    /// From the request's arrival to its last byte, by how it ended.
    pub request_duration: HistogramFamily<OutcomeLabels>,
    /// Reasoning tokens of each finished request, braked or not. The tokens a
    /// brake saves are never generated, so no request can count them; the
    /// two distributions side by side show what braking shortens.
    pub reasoning_tokens_per_request: HistogramFamily<BrakedLabels>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// 50 ms .. ~7 min: whole requests, long reasoning included.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 14))
}

/// 16 .. 32768 tokens.
fn tokens_histogram() -> Histogram {
    Histogram::new(exponential_buckets(16.0, 2.0, 12))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics(Arc::new(MetricSet::new()))
    }
}

impl MetricSet {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("selfbrake");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Chat requests by tenant, policy and outcome",
            requests.clone(),
        );
        let brakes = Family::<BrakeLabels, Counter>::default();
        registry.register("brakes", "Brakes by tenant and rule", brakes.clone());
        let reasoning_tokens = Family::<TenantLabels, Counter>::default();
        registry.register(
            "reasoning_tokens",
            "Reasoning tokens generated",
            reasoning_tokens.clone(),
        );
        let answer_tokens = Family::<TenantLabels, Counter>::default();
        registry.register(
            "answer_tokens",
            "Answer tokens generated",
            answer_tokens.clone(),
        );
        let probes = Family::<TenantLabels, Counter>::default();
        registry.register("probes", "Probes sent by the probe rule", probes.clone());
        let probe_tokens = Family::<TenantLabels, Counter>::default();
        registry.register(
            "probe_tokens",
            "Probe tokens (prompt and generated) as the backend billed them",
            probe_tokens.clone(),
        );
        let upstream_first_byte: HistogramFamily<BackendLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "upstream_first_byte_seconds",
            "Time from request to the upstream's response headers",
            upstream_first_byte.clone(),
        );
        // 1 µs .. ~0.5 s: the proxy's own work per request, upstream waiting excluded.
        let overhead = Histogram::new(exponential_buckets(0.000_001, 2.0, 20));
        registry.register(
            "overhead_seconds",
            "Time spent inside selfbrake per request, upstream and client waiting excluded",
            overhead.clone(),
        );
        let streams_in_flight = Gauge::default();
        registry.register(
            "streams_in_flight",
            "Chat responses being streamed",
            streams_in_flight.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Config reloads by result (ok, error)",
            reloads.clone(),
        );
        let limits_store_errors = Counter::default();
        registry.register(
            "limits_store_errors",
            "Admissions the limits store (Redis) could not answer",
            limits_store_errors.clone(),
        );
        let time_to_first_token: HistogramFamily<TenantLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "time_to_first_token_seconds",
            "Time from request to the first reasoning or answer text sent to the client",
            time_to_first_token.clone(),
        );
        let request_duration: HistogramFamily<OutcomeLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from request to its last byte, by tenant and outcome",
            request_duration.clone(),
        );
        let reasoning_tokens_per_request: HistogramFamily<BrakedLabels> =
            Family::new_with_constructor(tokens_histogram);
        registry.register(
            "request_reasoning_tokens",
            "Reasoning tokens per finished request, by tenant and whether it was braked",
            reasoning_tokens_per_request.clone(),
        );
        Self {
            registry,
            requests,
            brakes,
            reasoning_tokens,
            answer_tokens,
            probes,
            probe_tokens,
            upstream_first_byte,
            overhead,
            streams_in_flight,
            reloads,
            limits_store_errors,
            time_to_first_token,
            request_duration,
            reasoning_tokens_per_request,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }

    /// A request of `tenant` ended `outcome` after `duration`.
    pub fn finished(&self, tenant: &str, outcome: &str, duration: std::time::Duration) {
        self.request_duration
            .get_or_create(&OutcomeLabels {
                tenant: tenant.into(),
                outcome: outcome.into(),
            })
            .observe(duration.as_secs_f64());
    }

    pub fn request(&self, tenant: &str, policy: &str, outcome: &str) {
        self.requests
            .get_or_create(&RequestLabels {
                tenant: tenant.into(),
                policy: policy.into(),
                outcome: outcome.into(),
            })
            .inc();
    }
}
