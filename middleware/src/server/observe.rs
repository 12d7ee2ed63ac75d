use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use pin_project_lite::pin_project;
use tracing::span::EnteredSpan;
use tracing::Span;

use selfbrake_adapters::BackendEvent;

use super::coalesce::Encode;
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

/// A request's accounting while its response lives: metrics, the proxy's
/// own time (time spent polling the session and encoding; waiting for the
/// upstream or the client happens between polls and is not counted), the
/// request's tracing span for whatever the session logs, and its
/// concurrency slot. Dropped with the response; a response dropped before
/// the session ended is a client that went away.
pub struct Observer {
    metrics: Metrics,
    tags: RequestTags,
    span: Span,
    busy: Duration,
    first_token_seen: bool,
    outcome: Option<&'static str>,
    _admission: Admitted,
}

impl Observer {
    pub fn new(metrics: Metrics, tags: RequestTags, admission: Admitted, setup: Duration) -> Self {
        metrics.streams_in_flight.inc();
        Observer {
            metrics,
            tags,
            span: Span::current(),
            busy: setup,
            first_token_seen: false,
            outcome: None,
            _admission: admission,
        }
    }

    /// Enters the request's span and starts the proxy's clock, until
    /// [`Observer::end`].
    fn begin(&mut self) -> Busy {
        Busy {
            span: std::mem::replace(&mut self.span, Span::none()).entered(),
            started: Instant::now(),
        }
    }

    fn end(&mut self, busy: Busy) {
        self.busy += busy.started.elapsed();
        self.span = busy.span.exit();
    }

    /// One event on its way to the client.
    fn saw(&mut self, event: &SessionEvent) {
        if !self.first_token_seen && is_text(event) {
            self.first_token_seen = true;
            let tenant = TenantLabels {
                tenant: self.tags.tenant.clone(),
            };
            let waited = self.tags.received.elapsed().as_secs_f64();
            self.metrics
                .time_to_first_token
                .get_or_create(&tenant)
                .observe(waited);
        }
        if self.outcome.is_none() {
            record(&self.metrics, &self.tags, &mut self.outcome, event);
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        let _entered = self.span.enter();
        self.metrics.streams_in_flight.dec();
        self.metrics.overhead.observe(self.busy.as_secs_f64());
        if self.outcome.is_none() {
            tracing::info!("client went away; upstream request cancelled");
            self.metrics
                .request(&self.tags.tenant, &self.tags.policy, "cancelled");
            self.metrics
                .finished(&self.tags.tenant, "cancelled", self.tags.received.elapsed());
        }
    }
}

/// A streamed response's encoder under its request's [`Observer`]: the
/// span is entered and the clock read once per batch of events (one write),
/// not once per event and poll.
pub struct Observing<E> {
    observer: Observer,
    encode: E,
}

impl<E> Observing<E> {
    pub fn new(observer: Observer, encode: E) -> Self {
        Observing { observer, encode }
    }
}

impl<E: FnMut(SessionEvent, &mut String)> Encode<SessionEvent> for Observing<E> {
    fn encode(&mut self, event: SessionEvent, batch: &mut String) {
        self.observer.saw(&event);
        (self.encode)(event, batch)
    }

    fn batch<R>(&mut self, work: impl FnOnce(&mut Self) -> R) -> R {
        let busy = self.observer.begin();
        let out = work(self);
        self.observer.end(busy);
        out
    }
}

/// The request's span, entered, and when the proxy's own work began.
struct Busy {
    span: EnteredSpan,
    started: Instant,
}

pin_project! {
    /// A session's events under its request's [`Observer`], one by one: for
    /// a reply built whole before it is sent.
    pub struct Observed<S> {
        #[pin]
        inner: S,
        observer: Observer,
    }
}

impl<S> Observed<S> {
    pub fn new(inner: S, observer: Observer) -> Self {
        Observed { inner, observer }
    }
}

impl<S: Stream<Item = SessionEvent>> Stream for Observed<S> {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        let this = self.project();
        let busy = this.observer.begin();
        let polled = this.inner.poll_next(cx);
        if let Poll::Ready(Some(event)) = &polled {
            this.observer.saw(event);
        }
        this.observer.end(busy);
        polled
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
