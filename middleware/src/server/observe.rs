use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use pin_project_lite::pin_project;
use tracing::Span;

use selfbrake_adapters::BackendEvent;

use crate::metrics::{BrakeLabels, BrakedLabels, Metrics, TenantLabels};
use crate::pipeline::Admitted;
use crate::session::SessionEvent;

/// Who a request belongs to, for its metrics.
pub struct RequestTags {
    pub tenant: String,
    pub policy: String,
    /// When the request arrived, for its time to first token and duration.
    pub received: Instant,
}

pin_project! {
    /// Wraps a session's events on their way to the client: records metrics,
    /// measures the proxy's own time (the time spent inside `poll_next` and
    /// the encoder: waiting for the upstream or the client happens between
    /// polls and is not counted), keeps the request's tracing span and its
    /// concurrency slot for as long as the response lives.
    pub struct Observed<S, F> {
        #[pin]
        inner: S,
        encode: F,
        metrics: Metrics,
        tags: RequestTags,
        span: Span,
        busy: Duration,
        first_token_seen: bool,
        outcome: Option<&'static str>,
        _admission: Admitted,
    }

    impl<S, F> PinnedDrop for Observed<S, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let _entered = this.span.enter();
            this.metrics.streams_in_flight.dec();
            this.metrics.overhead.observe(this.busy.as_secs_f64());
            if this.outcome.is_none() {
                tracing::info!("client went away; upstream request cancelled");
                this.metrics.request(&this.tags.tenant, &this.tags.policy, "cancelled");
                this.metrics.finished(&this.tags.tenant, "cancelled", this.tags.received.elapsed());
            }
        }
    }
}

impl<S, F> Observed<S, F> {
    pub fn new(
        inner: S,
        encode: F,
        metrics: Metrics,
        tags: RequestTags,
        admission: Admitted,
        setup: Duration,
    ) -> Self {
        metrics.streams_in_flight.inc();
        Self {
            inner,
            encode,
            metrics,
            tags,
            span: Span::current(),
            busy: setup,
            first_token_seen: false,
            outcome: None,
            _admission: admission,
        }
    }
}

impl<S, F, T> Stream for Observed<S, F>
where
    S: Stream<Item = SessionEvent>,
    F: FnMut(SessionEvent) -> T,
{
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        let _entered = this.span.enter();
        let started = Instant::now();
        let polled = this.inner.poll_next(cx);
        let out = match polled {
            Poll::Ready(Some(event)) => {
                if !*this.first_token_seen && is_text(&event) {
                    *this.first_token_seen = true;
                    let tenant = TenantLabels {
                        tenant: this.tags.tenant.clone(),
                    };
                    let waited = this.tags.received.elapsed().as_secs_f64();
                    this.metrics
                        .time_to_first_token
                        .get_or_create(&tenant)
                        .observe(waited);
                }
                if this.outcome.is_none() {
                    record(this.metrics, this.tags, this.outcome, &event);
                }
                Poll::Ready(Some((this.encode)(event)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        };
        *this.busy += started.elapsed();
        out
    }
}

/// Reasoning or answer text: what a client waits for.
fn is_text(event: &SessionEvent) -> bool {
    matches!(
        event,
        SessionEvent::Delta(BackendEvent::Reasoning(t) | BackendEvent::Content(t)) if !t.is_empty()
    )
}

fn record(
    metrics: &Metrics,
    tags: &RequestTags,
    outcome: &mut Option<&'static str>,
    event: &SessionEvent,
) {
    match event {
        SessionEvent::End(summary) => {
            let report = &summary.report;
            let tenant = TenantLabels {
                tenant: tags.tenant.clone(),
            };
            metrics
                .reasoning_tokens
                .get_or_create(&tenant)
                .inc_by(report.reasoning_tokens);
            metrics
                .answer_tokens
                .get_or_create(&tenant)
                .inc_by(report.answer_tokens);
            if report.probes > 0 {
                metrics.probes.get_or_create(&tenant).inc_by(report.probes);
                let tokens = metrics.probe_tokens.get_or_create(&tenant);
                tokens.inc_by(report.probe_tokens);
            }
            if let Some(rule) = &report.rule {
                metrics
                    .brakes
                    .get_or_create(&BrakeLabels {
                        tenant: tags.tenant.clone(),
                        rule: rule.clone(),
                    })
                    .inc();
            }
            metrics
                .reasoning_tokens_per_request
                .get_or_create(&BrakedLabels {
                    tenant: tags.tenant.clone(),
                    braked: report.braked.to_string(),
                })
                .observe(report.reasoning_tokens as f64);
            let kind = if report.braked { "braked" } else { "completed" };
            metrics.request(&tags.tenant, &tags.policy, kind);
            metrics.finished(&tags.tenant, kind, tags.received.elapsed());
            tracing::info!(
                braked = report.braked,
                rule = report.rule.as_deref().unwrap_or(""),
                reasoning_tokens = report.reasoning_tokens,
                answer_tokens = report.answer_tokens,
                "request done"
            );
            *outcome = Some(kind);
        }
        SessionEvent::Failed(error) => {
            tracing::warn!(error = %error, "request failed mid-stream");
            metrics.request(&tags.tenant, &tags.policy, "failed");
            metrics.finished(&tags.tenant, "failed", tags.received.elapsed());
            *outcome = Some("failed");
        }
        _ => {}
    }
}
