//! The one loop that drives the session's states ([`Session`]), with its
//! two waits: the next upstream event, and the opening of the continuation.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;
use selfbrake_adapters::{Backend, Propagation};
use selfbrake_policies::Monitor;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::probe::{Beside, ProbeCost, Probes};
use super::thinking::{self, Thinking};
use super::turns::{beside_step, continuation, step, thinking_step, Phase, Turn};
use super::SessionEvent;
use crate::error::ProxyError;
use crate::gateway::Policy;
use crate::rewrite::last_user_text;
use crate::telemetry::{self, spans};

/// Everything one session needs.
pub struct SessionContext {
    pub backend: Arc<dyn Backend>,
    pub policy: Arc<Policy>,
    /// The upstream request body (system prompt already injected).
    pub request: Map<String, Value>,
    /// The client's own reasoning budget for this request (`thinking_token_budget`
    /// and kin); the policy's rules and the tenant's ceiling still apply.
    pub reasoning_budget: Option<u64>,
    /// The trace context and request id the upstream calls carry.
    pub propagation: Propagation,
}

impl SessionContext {
    /// The client's cap on the whole reply: `max_completion_tokens`, else
    /// `max_tokens`.
    pub(super) fn client_cap(&self) -> Option<u64> {
        ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| self.request.get(*k).and_then(Value::as_u64))
    }
}

/// Opens the upstream stream. Errors here happen before the client got a
/// byte, so they become an HTTP status; later ones become `Failed` events.
pub async fn start(
    ctx: SessionContext,
) -> Result<impl Stream<Item = SessionEvent> + Send + 'static, ProxyError> {
    let mut monitor = Monitor::with_rules(&ctx.policy.rules);
    if let Some(question) = last_user_text(&ctx.request) {
        monitor.set_question(&question);
    }
    let span = spans::upstream();
    let mut propagation = ctx.propagation.clone();
    telemetry::inject(&span, &mut propagation);
    let upstream = ctx
        .backend
        .stream_with(ctx.request.clone(), &propagation)
        .instrument(span.clone())
        .await
        .inspect_err(|e| spans::failed(&span, e))?;
    let upstream = telemetry::in_span(upstream, span);
    let mut thinking = Thinking::new(monitor);
    if let Some(budget) = ctx.reasoning_budget {
        thinking.limit_reasoning(budget);
    }
    if let Some(cap) = ctx.client_cap() {
        thinking.cap_reasoning(cap, u64::from(ctx.policy.config.answer_reserve_tokens));
    }
    let probing = ctx.policy.rules.specs().iter().any(|r| r.kind() == "probe");
    let prober = probing.then(|| ctx.backend.prober(&ctx.request)).flatten();
    let cost = Arc::new(ProbeCost::default());
    let phase = Phase::Thinking {
        state: Box::new(thinking),
        upstream,
        probes: Probes::new(prober, cost.clone(), &ctx.policy.name),
    };
    Ok(Session {
        ctx: Arc::new(ctx),
        phase,
        cost,
        opening: None,
    })
}

/// The session as the client's stream of events. Polled by hand rather
/// than written as an `unfold` over an `async` step: that moved the whole
/// context and phase into a new future for every event, once per token.
/// The one wait that is not a stream read, the continuation's opening, is
/// a boxed future of its own.
struct Session {
    ctx: Arc<SessionContext>,
    phase: Phase,
    cost: Arc<ProbeCost>,
    opening: Option<Pin<Box<dyn Future<Output = Phase> + Send>>>,
}

impl Stream for Session {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        let this = self.get_mut();
        loop {
            if let Some(opening) = this.opening.as_mut() {
                this.phase = ready!(opening.as_mut().poll(cx));
                this.opening = None;
            }
            // The hot path, in place: a reasoning token observed and passed on.
            if let Phase::Thinking {
                state,
                upstream,
                probes,
            } = &mut this.phase
            {
                match probes.poll_next(upstream, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Beside::Upstream(Some(Ok(event)))) => match state.observe(event) {
                        thinking::Step::Quiet => continue,
                        thinking::Step::Emit(e) => return Poll::Ready(Some(e)),
                        other => {
                            let phase = std::mem::replace(&mut this.phase, Phase::Done);
                            let turn = thinking_step(&this.ctx.policy, phase, other);
                            if let Some(event) = this.apply(turn) {
                                return Poll::Ready(Some(event));
                            }
                            continue;
                        }
                    },
                    Poll::Ready(beside) => {
                        let phase = std::mem::replace(&mut this.phase, Phase::Done);
                        let turn = beside_step(&this.ctx.policy, phase, beside);
                        if let Some(event) = this.apply(turn) {
                            return Poll::Ready(Some(event));
                        }
                        continue;
                    }
                }
            }
            let phase = std::mem::replace(&mut this.phase, Phase::Done);
            if let Phase::Done = phase {
                return Poll::Ready(None);
            }
            let turn = step(&this.ctx, phase, cx);
            if let Turn::Wait(phase) = turn {
                this.phase = phase;
                return Poll::Pending;
            }
            if let Some(event) = this.apply(turn) {
                return Poll::Ready(Some(event));
            }
        }
    }
}

impl Session {
    /// Takes a turn's phase; returns its event, if it had one.
    fn apply(&mut self, turn: Turn) -> Option<SessionEvent> {
        match turn {
            Turn::Emit(mut event, next) => {
                if let SessionEvent::End(summary) = &mut event {
                    self.cost.apply(summary);
                }
                self.phase = next;
                Some(event)
            }
            Turn::Next(next) | Turn::Wait(next) => {
                self.phase = next;
                None
            }
            Turn::Open(braking) => {
                self.opening = Some(Box::pin(continuation(self.ctx.clone(), braking)));
                None
            }
        }
    }
}
