//! The one loop that drives the session's states ([`Session`]), with its
//! two waits: the next upstream event, and the opening of the continuation.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::{Stream, StreamExt};
use selfbrake_adapters::{Backend, EventStream, Propagation};
use selfbrake_policies::Monitor;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::answering::{self, Answering};
use super::braking::Braking;
use super::probe::{Beside, ProbeCost, Probes};
use super::thinking::{self, Thinking};
use super::SessionEvent;
use crate::config::OnBrake;
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
    fn client_cap(&self) -> Option<u64> {
        ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| self.request.get(*k).and_then(Value::as_u64))
    }
}

enum Phase {
    Thinking {
        // Boxed: the monitor is large, and the phase moves on every step.
        state: Box<Thinking>,
        upstream: EventStream,
        probes: Probes,
    },
    /// Cut: the statement goes out next.
    Braking(Braking),
    /// The statement is out: open the continuation (or close without one).
    Continuing(Braking),
    Answering {
        state: Answering,
        stream: EventStream,
    },
    /// The last events, already decided.
    Closing(std::vec::IntoIter<SessionEvent>),
    Done,
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

/// What one turn of the machine came to.
enum Turn {
    /// An event for the client, and the phase after it.
    Emit(SessionEvent, Phase),
    /// Nothing for the client yet; go on in this phase.
    Next(Phase),
    /// Open the continuation, then go on in the phase it resolves to.
    Open(Braking),
    /// Waiting for the upstream (or a probe) in this phase.
    Wait(Phase),
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

/// Thinking, after the monitor's verdict on an upstream event (other than
/// `Quiet` and `Emit`, which the hot path handles in place).
fn thinking_step(policy: &Policy, phase: Phase, step: thinking::Step) -> Turn {
    let Phase::Thinking {
        state,
        upstream,
        mut probes,
    } = phase
    else {
        unreachable!("thinking_step is called in the thinking phase")
    };
    match step {
        thinking::Step::Quiet => Turn::Next(Phase::Thinking {
            state,
            upstream,
            probes,
        }),
        thinking::Step::Emit(e) => Turn::Emit(
            e,
            Phase::Thinking {
                state,
                upstream,
                probes,
            },
        ),
        thinking::Step::Probe(e, request) => {
            let mut state = state;
            // Without a prober the outcome is known at once.
            let now = probes.start(request, state.reasoning());
            let brake = now.and_then(|outcome| state.probe_result(&outcome));
            let next = match brake {
                Some(brake) => braked(policy, *state, brake, upstream, "brake"),
                None => Phase::Thinking {
                    state,
                    upstream,
                    probes,
                },
            };
            Turn::Emit(e, next)
        }
        thinking::Step::Brake(e, brake) => {
            Turn::Emit(e, braked(policy, *state, brake, upstream, "brake"))
        }
        thinking::Step::BrakeNow(brake) => {
            Turn::Next(braked(policy, *state, brake, upstream, "brake"))
        }
        thinking::Step::Cut(e, brake) => {
            drop(upstream);
            tracing::info!(policy = %policy.name, rule = brake.rule, tokens = brake.tokens, "reasoning after the answer went over budget; cut");
            let end = SessionEvent::End(Box::new(state.cut(brake, &policy.name)));
            Turn::Emit(e, Phase::Closing(vec![end].into_iter()))
        }
    }
}

/// Thinking, after a probe's outcome, the upstream's end or its failure.
fn beside_step(policy: &Policy, phase: Phase, beside: Beside) -> Turn {
    let Phase::Thinking {
        mut state,
        upstream,
        probes,
    } = phase
    else {
        unreachable!("beside_step is called in the thinking phase")
    };
    match beside {
        Beside::Probe(outcome) => match state.probe_result(&outcome) {
            Some(brake) => Turn::Next(braked(policy, *state, brake, upstream, "brake")),
            None => Turn::Next(Phase::Thinking {
                state,
                upstream,
                probes,
            }),
        },
        Beside::Upstream(None) => match state.missing_answer() {
            Some(brake) => Turn::Next(braked(
                policy,
                *state,
                brake,
                upstream,
                "reasoning ended without an answer; asking for it",
            )),
            None => Turn::Emit(
                SessionEvent::End(Box::new(state.finish(&policy.name))),
                Phase::Done,
            ),
        },
        Beside::Upstream(Some(Err(e))) => Turn::Emit(SessionEvent::Failed(e.into()), Phase::Done),
        Beside::Upstream(Some(Ok(event))) => {
            let step = state.observe(event);
            thinking_step(
                policy,
                Phase::Thinking {
                    state,
                    upstream,
                    probes,
                },
                step,
            )
        }
    }
}

/// Every phase but thinking (and `Done`): one turn.
fn step(ctx: &SessionContext, phase: Phase, cx: &mut Context<'_>) -> Turn {
    let policy = &ctx.policy;
    match phase {
        Phase::Done => Turn::Next(Phase::Done),
        thinking @ Phase::Thinking { .. } => Turn::Next(thinking),
        Phase::Braking(braking) => {
            let statement = braking.statement_event();
            Turn::Emit(statement, Phase::Continuing(braking))
        }
        Phase::Continuing(braking) => Turn::Open(braking),
        Phase::Answering { state, mut stream } => match stream.poll_next_unpin(cx) {
            Poll::Pending => Turn::Wait(Phase::Answering { state, stream }),
            Poll::Ready(None) => Turn::Emit(
                SessionEvent::End(Box::new(state.finish(&policy.name))),
                Phase::Done,
            ),
            Poll::Ready(Some(item)) => match state.observe(item) {
                answering::Step::Emit(state, e) => {
                    Turn::Emit(e, Phase::Answering { state, stream })
                }
                answering::Step::Quiet(state) => Turn::Next(Phase::Answering { state, stream }),
                answering::Step::Failed(e) => {
                    Turn::Emit(SessionEvent::Failed(e.into()), Phase::Done)
                }
                answering::Step::FallBack(braking, e) => {
                    let wrapping = ctx.backend.prefix_format().wrapping_len();
                    let events = braking.close(OnBrake::Extract, Some(e), &policy.name, wrapping);
                    Turn::Next(Phase::Closing(events.into_iter()))
                }
            },
        },
        Phase::Closing(mut events) => match events.next() {
            Some(e) => Turn::Emit(e, Phase::Closing(events)),
            None => Turn::Next(Phase::Done),
        },
    }
}

/// The cut: the upstream request is dropped at once (the engine frees its
/// slot), the brake is logged by rule and position only (completions are
/// never logged), and the statement goes out next.
fn braked(
    policy: &Policy,
    state: Thinking,
    brake: selfbrake_policies::Brake,
    upstream: EventStream,
    why: &'static str,
) -> Phase {
    drop(upstream);
    spans::brake(brake.rule, brake.tokens).in_scope(|| {
        tracing::info!(policy = %policy.name, rule = brake.rule, tokens = brake.tokens, "{why}");
    });
    Phase::Braking(state.brake(brake, &policy.config.brake_statement))
}

/// Asks the backend for the answer, or closes as `on_brake` says.
async fn continuation(ctx: Arc<SessionContext>, braking: Braking) -> Phase {
    let config = &ctx.policy.config;
    let wrapping = ctx.backend.prefix_format().wrapping_len();
    let on_brake = braking.plan(config.on_brake, ctx.backend.continuation_mode());
    if on_brake != OnBrake::Continue {
        return Phase::Closing(
            braking
                .close(on_brake, None, &ctx.policy.name, wrapping)
                .into_iter(),
        );
    }
    // Within what the client allowed for the whole reply.
    let max_tokens = match ctx.client_cap() {
        Some(cap) => {
            let left = cap.saturating_sub(braking.reasoning_tokens()).max(1);
            config
                .answer_max_tokens
                .min(u32::try_from(left).unwrap_or(u32::MAX))
        }
        None => config.answer_max_tokens,
    };
    let continuation = braking.continuation(max_tokens);
    let span = spans::continuation(max_tokens);
    let mut propagation = ctx.propagation.clone();
    telemetry::inject(&span, &mut propagation);
    match ctx
        .backend
        .continue_answer_with(ctx.request.clone(), continuation, &propagation)
        .instrument(span.clone())
        .await
    {
        Ok(stream) => Phase::Answering {
            state: braking.answering(wrapping),
            stream: telemetry::in_span(stream, span),
        },
        Err(e) => {
            spans::failed(&span, &e);
            let events = braking.close(OnBrake::Continue, Some(e), &ctx.policy.name, wrapping);
            Phase::Closing(events.into_iter())
        }
    }
}
