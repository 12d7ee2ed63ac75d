//! The one loop that drives the session's states, with its two awaits:
//! the next upstream event, and the opening of the continuation.
use std::sync::Arc;

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
    Ok(futures::stream::unfold(
        (ctx, phase, cost),
        |(ctx, phase, cost)| async move {
            let (mut event, next) = step(&ctx, phase).await?;
            if let SessionEvent::End(summary) = &mut event {
                cost.apply(summary);
            }
            Some((event, (ctx, next, cost)))
        },
    ))
}

/// Runs `phase` until it has an event for the client; returns it with the
/// phase that follows.
async fn step(ctx: &SessionContext, mut phase: Phase) -> Option<(SessionEvent, Phase)> {
    let policy = &ctx.policy;
    loop {
        phase = match phase {
            Phase::Done => return None,
            Phase::Thinking {
                mut state,
                mut upstream,
                mut probes,
            } => match probes.next(&mut upstream).await {
                Beside::Probe(outcome) => match state.probe_result(&outcome) {
                    Some(brake) => braked(policy, *state, brake, upstream, "brake"),
                    None => Phase::Thinking {
                        state,
                        upstream,
                        probes,
                    },
                },
                Beside::Upstream(None) => match state.missing_answer() {
                    Some(brake) => braked(
                        policy,
                        *state,
                        brake,
                        upstream,
                        "reasoning ended without an answer; asking for it",
                    ),
                    None => {
                        return Some((SessionEvent::End(state.finish(&policy.name)), Phase::Done))
                    }
                },
                Beside::Upstream(Some(Err(e))) => {
                    return Some((SessionEvent::Failed(e.into()), Phase::Done))
                }
                Beside::Upstream(Some(Ok(event))) => match state.observe(event) {
                    thinking::Step::Quiet => Phase::Thinking {
                        state,
                        upstream,
                        probes,
                    },
                    thinking::Step::Emit(e) => {
                        let next = Phase::Thinking {
                            state,
                            upstream,
                            probes,
                        };
                        return Some((e, next));
                    }
                    thinking::Step::Probe(e, request) => {
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
                        return Some((e, next));
                    }
                    thinking::Step::Brake(e, brake) => {
                        return Some((e, braked(policy, *state, brake, upstream, "brake")));
                    }
                    thinking::Step::BrakeNow(brake) => {
                        braked(policy, *state, brake, upstream, "brake")
                    }
                    thinking::Step::Cut(e, brake) => {
                        drop(upstream);
                        tracing::info!(policy = %policy.name, rule = brake.rule, tokens = brake.tokens, "reasoning after the answer went over budget; cut");
                        let end = SessionEvent::End(state.cut(brake, &policy.name));
                        return Some((e, Phase::Closing(vec![end].into_iter())));
                    }
                },
            },
            Phase::Braking(braking) => {
                let statement = braking.statement_event();
                return Some((statement, Phase::Continuing(braking)));
            }
            Phase::Continuing(braking) => continuation(ctx, braking).await,
            Phase::Answering { state, mut stream } => match stream.next().await {
                None => return Some((SessionEvent::End(state.finish(&policy.name)), Phase::Done)),
                Some(item) => match state.observe(item) {
                    answering::Step::Emit(state, e) => {
                        return Some((e, Phase::Answering { state, stream }))
                    }
                    answering::Step::Quiet(state) => Phase::Answering { state, stream },
                    answering::Step::Failed(e) => {
                        return Some((SessionEvent::Failed(e.into()), Phase::Done))
                    }
                    answering::Step::FallBack(braking, e) => {
                        let wrapping = ctx.backend.prefix_format().wrapping_len();
                        let events =
                            braking.close(OnBrake::Extract, Some(e), &policy.name, wrapping);
                        Phase::Closing(events.into_iter())
                    }
                },
            },
            Phase::Closing(mut events) => match events.next() {
                Some(e) => return Some((e, Phase::Closing(events))),
                None => Phase::Done,
            },
        };
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
async fn continuation(ctx: &SessionContext, braking: Braking) -> Phase {
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
