use std::sync::Arc;

use futures::{Stream, StreamExt};
use selfbrake_adapters::{
    AdapterError, Backend, BackendEvent, Continuation, ContinuationMode, EventStream,
};
use selfbrake_policies::{Brake, Monitor, Verdict};
use serde_json::{Map, Value};

use super::usage;
use super::{AnswerSource, BrakeReport, SessionEvent, Summary};
use crate::config::{ConfigIssue, OnBrake, PolicyConfig};
use crate::error::ProxyError;

/// Characters of the `<think>` tags around the kept reasoning in a continuation prefix.
const TAG_CHARS: usize = "<think>\n\n</think>\n\n".len();

/// Everything one session needs.
pub struct SessionContext {
    pub backend: Arc<dyn Backend>,
    pub policy_name: String,
    pub policy: Arc<PolicyConfig>,
    /// The upstream request body (system prompt already injected).
    pub request: Map<String, Value>,
}

/// Opens the upstream stream. Errors here happen before the client got a
/// byte, so they become an HTTP status; later ones become `Failed` events.
pub async fn start(
    ctx: SessionContext,
) -> Result<impl Stream<Item = SessionEvent> + Send + 'static, ProxyError> {
    let monitor = Monitor::new(&ctx.policy.rules).map_err(|e| {
        ProxyError::Config(vec![ConfigIssue::new(
            format!("policies.{}", ctx.policy_name),
            e.to_string(),
        )])
    })?;
    let upstream = ctx.backend.stream(ctx.request.clone()).await?;
    Ok(drive(ctx, monitor, upstream))
}

fn report(
    ctx: &SessionContext,
    brake: Option<&Brake>,
    reasoning: u64,
    answer: u64,
    source: AnswerSource,
) -> BrakeReport {
    BrakeReport {
        braked: brake.is_some(),
        rule: brake.map(|b| b.rule.to_string()),
        reason: brake.map(|b| b.reason.clone()),
        policy: ctx.policy_name.clone(),
        reasoning_tokens: reasoning,
        answer_tokens: answer,
        answer_source: source,
    }
}

/// The answer text for `on_brake = "extract"`.
fn extracted_answer(answer: &str) -> String {
    if answer.contains("\\boxed") {
        format!("The final answer is ${answer}$.")
    } else {
        format!("The final answer is $\\boxed{{{answer}}}$.")
    }
}

fn drive(
    ctx: SessionContext,
    mut monitor: Monitor,
    mut upstream: EventStream,
) -> impl Stream<Item = SessionEvent> + Send + 'static {
    async_stream::stream! {
        // Thinking: forward everything, watch the reasoning.
        let mut reasoning = String::new();
        let mut finish = None;
        let mut first_usage = None;
        let mut answer_chunks = 0u64;
        let mut answering = false;
        let mut brake = None;
        while let Some(item) = upstream.next().await {
            let event = match item {
                Ok(event) => event,
                Err(e) => {
                    yield SessionEvent::Failed(e.into());
                    return;
                }
            };
            match event {
                BackendEvent::Meta { id, model, created } => yield SessionEvent::Meta { id, model, created },
                BackendEvent::Reasoning(delta) if !answering => {
                    reasoning.push_str(&delta);
                    let verdict = monitor.observe(&delta);
                    yield SessionEvent::Reasoning(delta);
                    if let Verdict::Brake(b) = verdict {
                        brake = Some(b);
                        break;
                    }
                }
                BackendEvent::Reasoning(delta) => yield SessionEvent::Reasoning(delta),
                BackendEvent::Content(delta) => {
                    answering = true;
                    answer_chunks += 1;
                    yield SessionEvent::Content(delta);
                }
                BackendEvent::ToolCall(call) => {
                    answering = true;
                    yield SessionEvent::ToolCall(call);
                }
                BackendEvent::Extra(fields) => yield SessionEvent::Extra(fields),
                BackendEvent::Finish(reason) => finish = Some(reason),
                BackendEvent::Usage(u) => first_usage = Some(u),
            }
        }
        let reasoning_tokens = monitor.tokens();
        let Some(brake) = brake else {
            let usage = usage::unbraked(first_usage, reasoning_tokens, answer_chunks);
            let answer_tokens = usage.completion_tokens.saturating_sub(reasoning_tokens);
            let report = report(&ctx, None, reasoning_tokens, answer_tokens, AnswerSource::Model);
            yield SessionEvent::End(Summary { finish_reason: finish.unwrap_or_else(|| "stop".into()), usage, report });
            return;
        };

        // Braking: stop the upstream generation now, close the reasoning.
        drop(upstream);
        tracing::info!(policy = %ctx.policy_name, rule = brake.rule, tokens = brake.tokens, reason = %brake.reason, "brake");
        let separator = if reasoning.ends_with("\n\n") { "" } else if reasoning.ends_with('\n') { "\n" } else { "\n\n" };
        let statement = format!("{separator}{}", ctx.policy.brake_statement);
        reasoning.push_str(&statement);
        let prefix_extra = statement.len() + TAG_CHARS;
        yield SessionEvent::Reasoning(statement);

        let mut on_brake = ctx.policy.on_brake;
        if on_brake == OnBrake::Continue && ctx.backend.continuation_mode() == ContinuationMode::None {
            on_brake = OnBrake::Extract;
        }
        let mut failure: Option<AdapterError> = None;
        if on_brake == OnBrake::Continue {
            // Answering: the model answers from its own kept reasoning.
            let continuation = Continuation { reasoning, max_tokens: ctx.policy.answer_max_tokens };
            match ctx.backend.continue_answer(ctx.request.clone(), continuation).await {
                Ok(mut answer) => {
                    let mut usage2 = None;
                    let mut finish2 = None;
                    let mut chunks = 0u64;
                    while let Some(item) = answer.next().await {
                        match item {
                            // The think block is closed in the prefix, so whatever a
                            // reasoning parser upstream labels reasoning is the answer.
                            Ok(BackendEvent::Content(delta) | BackendEvent::Reasoning(delta)) => {
                                chunks += 1;
                                yield SessionEvent::Content(delta);
                            }
                            Ok(BackendEvent::ToolCall(call)) => yield SessionEvent::ToolCall(call),
                            Ok(BackendEvent::Extra(fields)) => yield SessionEvent::Extra(fields),
                            Ok(BackendEvent::Finish(reason)) => finish2 = Some(reason),
                            Ok(BackendEvent::Usage(u)) => usage2 = Some(u),
                            Ok(BackendEvent::Meta { .. }) => {}
                            Err(e) if chunks > 0 => {
                                yield SessionEvent::Failed(e.into());
                                return;
                            }
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                    if failure.is_none() {
                        let usage = usage::braked(reasoning_tokens, prefix_extra, usage2);
                        let answer_tokens = usage2.map_or(chunks, |u| u.completion_tokens);
                        let report = report(&ctx, Some(&brake), reasoning_tokens, answer_tokens, AnswerSource::Continuation);
                        yield SessionEvent::End(Summary { finish_reason: finish2.unwrap_or_else(|| "stop".into()), usage, report });
                        return;
                    }
                }
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = &failure {
            tracing::warn!(error = %e, "continuation failed after a brake; answering with the extracted answer");
            on_brake = OnBrake::Extract;
        }
        let answer = match (on_brake, brake.answer.as_deref().or(monitor.answer())) {
            (OnBrake::Extract, Some(answer)) => Some(extracted_answer(answer)),
            _ => None,
        };
        let source = if answer.is_some() { AnswerSource::Extracted } else { AnswerSource::None };
        if let Some(text) = answer {
            yield SessionEvent::Content(text);
        }
        let usage = usage::braked(reasoning_tokens, prefix_extra, None);
        let mut report = report(&ctx, Some(&brake), reasoning_tokens, 0, source);
        if let Some(e) = failure {
            report.reason = Some(format!("{}; continuation failed: {e}", brake.reason));
        }
        yield SessionEvent::End(Summary { finish_reason: "stop".into(), usage, report });
    }
}
