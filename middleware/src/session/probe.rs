//! Probes beside the stream: the monitor asks, this runs the side request
//! while the reasoning keeps flowing to the client, and hands the outcome
//! back.
//!
//! The probe's future lives in the session, not in a spawned task: it is
//! polled only alongside the upstream stream, and dropping the session
//! (the client went away, or the session braked) drops it, which cancels
//! its upstream request. At most one is in flight: the monitor asks no
//! other until it has the outcome.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::StreamExt;
use selfbrake_adapters::{AdapterError, BackendEvent, EventStream, ProbeCall, Prober};
use selfbrake_policies::{ProbeAnswer, ProbeOutcome, ProbeRequest, ProbeToken};
use tracing::Instrument;

use super::Summary;

type InFlight = Pin<Box<dyn Future<Output = ProbeOutcome> + Send>>;

/// What probes cost one request, shared with the end of the session.
#[derive(Debug, Default)]
pub(super) struct ProbeCost {
    probes: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
}

impl ProbeCost {
    /// Adds the probes to the session's summary: `probes` and
    /// `probe_tokens` in the `selfbrake` object, their tokens in usage as
    /// the backend billed them.
    pub fn apply(&self, summary: &mut Summary) {
        let prompt = self.prompt_tokens.load(Ordering::Relaxed);
        let completion = self.completion_tokens.load(Ordering::Relaxed);
        summary.report.probes = self.probes.load(Ordering::Relaxed);
        summary.report.probe_tokens = prompt + completion;
        let u = &mut summary.usage;
        u.prompt_tokens += prompt;
        u.completion_tokens += completion;
        u.total_tokens += prompt + completion;
    }
}

/// The next thing that happened while thinking.
pub(super) enum Beside {
    Upstream(Option<Result<BackendEvent, AdapterError>>),
    Probe(ProbeOutcome),
}

/// The probes of one session.
pub(super) struct Probes {
    prober: Option<Arc<dyn Prober>>,
    in_flight: Option<InFlight>,
    cost: Arc<ProbeCost>,
    policy: String,
}

impl Probes {
    pub fn new(prober: Option<Arc<dyn Prober>>, cost: Arc<ProbeCost>, policy: &str) -> Self {
        Probes {
            prober,
            in_flight: None,
            cost,
            policy: policy.to_string(),
        }
    }

    /// Starts the probe the monitor asked for, on the reasoning streamed so
    /// far. Without a prober the outcome is known at once: `Unsupported`.
    pub fn start(&mut self, request: ProbeRequest, reasoning: &str) -> Option<ProbeOutcome> {
        let Some(prober) = self.prober.clone() else {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(policy = %self.policy, "a probe rule is set but the backend cannot probe: the rule steps aside (confirm lets the other rules brake unconfirmed)");
            });
            return Some(ProbeOutcome::Unsupported);
        };
        let call = ProbeCall {
            reasoning: reasoning[..request.cut(reasoning)].to_string(),
            suffix: request.suffix,
            max_tokens: request.max_tokens,
        };
        // A child of the request's span, exported with it when tracing is on.
        let span = crate::telemetry::spans::probe();
        span.in_scope(|| {
            tracing::debug!(policy = %self.policy, trigger = request.trigger, at_chars = request.upto_chars, "probe");
        });
        let cost = self.cost.clone();
        cost.probes.fetch_add(1, Ordering::Relaxed);
        let run = async move {
            match prober.probe(call).await {
                Ok(reply) => {
                    if let Some(u) = reply.usage {
                        cost.prompt_tokens
                            .fetch_add(u.prompt_tokens, Ordering::Relaxed);
                        cost.completion_tokens
                            .fetch_add(u.completion_tokens, Ordering::Relaxed);
                    }
                    tracing::debug!(tokens = reply.tokens.len(), "probe answered");
                    let tokens = reply.tokens.into_iter().map(|t| ProbeToken {
                        text: t.text,
                        logprob: t.logprob,
                    });
                    ProbeOutcome::Answer(ProbeAnswer {
                        tokens: tokens.collect(),
                    })
                }
                Err(AdapterError::Unsupported(_)) => ProbeOutcome::Unsupported,
                Err(e) => {
                    tracing::warn!(error = %e, "probe failed; reasoning goes on");
                    ProbeOutcome::Failed
                }
            }
        };
        self.in_flight = Some(Box::pin(run.instrument(span)));
        None
    }

    /// The next upstream event or the probe's outcome, whichever comes
    /// first. A finished probe is taken first: handling it is quick and a
    /// brake should not wait for more reasoning.
    pub fn poll_next(&mut self, upstream: &mut EventStream, cx: &mut Context<'_>) -> Poll<Beside> {
        if let Some(probe) = self.in_flight.as_mut() {
            if let Poll::Ready(outcome) = probe.as_mut().poll(cx) {
                self.in_flight = None;
                return Poll::Ready(Beside::Probe(outcome));
            }
        }
        upstream.poll_next_unpin(cx).map(Beside::Upstream)
    }
}
