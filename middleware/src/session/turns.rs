//! The session's phases and their turns: what each phase does with what
//! happened, as plain functions the stream in `machine` calls.
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::StreamExt;
use selfbrake_adapters::EventStream;
use tracing::Instrument;

use super::answering::{self, Answering};
use super::braking::Braking;
use super::machine::SessionContext;
use super::probe::{Beside, Probes};
use super::thinking::{self, Thinking};
use super::SessionEvent;
use crate::config::OnBrake;
use crate::gateway::Policy;
use crate::telemetry::{self, spans};

pub(super) enum Phase {
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

/// What one turn of the machine came to.
pub(super) enum Turn {
    /// An event for the client, and the phase after it.
    Emit(SessionEvent, Phase),
    /// Nothing for the client yet; go on in this phase.
    Next(Phase),
    /// Open the continuation, then go on in the phase it resolves to.
    Open(Braking),
    /// Waiting for the upstream (or a probe) in this phase.
    Wait(Phase),
}

/// Thinking, after the monitor's verdict on an upstream event (other than
/// `Quiet` and `Emit`, which the hot path handles in place).
pub(super) fn thinking_step(policy: &Policy, phase: Phase, step: thinking::Step) -> Turn {
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
pub(super) fn beside_step(policy: &Policy, phase: Phase, beside: Beside) -> Turn {
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
pub(super) fn step(ctx: &SessionContext, phase: Phase, cx: &mut Context<'_>) -> Turn {
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
pub(super) async fn continuation(ctx: Arc<SessionContext>, braking: Braking) -> Phase {
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
