//! Thinking: the upstream streams; reasoning goes to the client as it comes
//! and through the monitor, which may brake.
use selfbrake_adapters::{BackendEvent, Usage};
use selfbrake_policies::{Brake, Monitor, ProbeOutcome, ProbeRequest, Verdict};

use super::braking::Braking;
use super::report::report;
use super::usage;
use super::{AnswerSource, SessionEvent, Summary};

pub(super) struct Thinking {
    monitor: Monitor,
    /// Reasoning so far: what a continuation answers from.
    reasoning: String,
    finish: Option<String>,
    usage: Option<Usage>,
    answer_chunks: u64,
    /// Content or a tool call has started: later reasoning is passed on but
    /// no longer watched (the model has already answered).
    answering: bool,
    /// Some answer arrived: non-blank content, or a tool call.
    answered: bool,
    /// Reasoning tokens at which the client's cap forces a brake.
    cap_at: Option<u64>,
    /// The client's own reasoning budget for the request.
    budget: Option<u64>,
    /// Reasoning tokens after the answer started (interleaved thinking):
    /// counted against the request's budgets, not watched by text rules.
    late_tokens: u64,
    /// A probe the monitor asked for while counting reported tokens: it
    /// starts with the next reasoning delta.
    pending_probe: Option<ProbeRequest>,
}

/// What one upstream event does.
pub(super) enum Step {
    /// Pass this on to the client.
    Emit(SessionEvent),
    /// Nothing for the client (finish reason, usage: kept for the end).
    Quiet,
    /// Pass this on, then brake.
    Brake(SessionEvent, Brake),
    /// Brake now: the backend's token count shows a budget was reached.
    BrakeNow(Brake),
    /// Pass this on, then end the reply: reasoning after the answer started
    /// went over a budget (there is no answer left to ask for).
    Cut(SessionEvent, Brake),
    /// Pass this on, and start this probe beside the stream.
    Probe(SessionEvent, ProbeRequest),
}

impl Thinking {
    pub fn new(monitor: Monitor) -> Self {
        Thinking {
            monitor,
            reasoning: String::new(),
            finish: None,
            usage: None,
            answer_chunks: 0,
            answering: false,
            answered: false,
            cap_at: None,
            budget: None,
            late_tokens: 0,
            pending_probe: None,
        }
    }

    /// The client asked for at most `budget` reasoning tokens.
    pub fn limit_reasoning(&mut self, budget: u64) {
        self.budget = Some(budget.max(1));
    }

    /// The client allows `cap` tokens for the whole reply: brake the
    /// reasoning `reserve` tokens before it (at half the cap when the cap is
    /// smaller than twice the reserve), so the answer fits.
    pub fn cap_reasoning(&mut self, cap: u64, reserve: u64) {
        self.cap_at = Some(cap.saturating_sub(reserve).max(cap / 2).max(1));
    }

    pub fn observe(&mut self, event: BackendEvent) -> Step {
        match event {
            BackendEvent::Reasoning(delta) if !self.answering => {
                self.reasoning.push_str(&delta);
                let verdict = self.monitor.observe(&delta);
                let event = SessionEvent::Delta(BackendEvent::Reasoning(delta));
                let probe = match verdict {
                    Verdict::Brake(brake) => return Step::Brake(event, brake),
                    Verdict::Probe(request) => Some(request),
                    Verdict::Continue => self.pending_probe.take(),
                };
                match (self.over_budget(self.monitor.tokens()), probe) {
                    (Some(brake), _) => Step::Brake(event, brake),
                    (None, Some(request)) => Step::Probe(event, request),
                    (None, None) => Step::Emit(event),
                }
            }
            BackendEvent::Reasoning(delta) => {
                self.late_tokens += 1;
                let event = SessionEvent::Delta(BackendEvent::Reasoning(delta));
                match self.over_budget(self.monitor.tokens() + self.late_tokens) {
                    Some(brake) => Step::Cut(event, brake),
                    None => Step::Emit(event),
                }
            }
            BackendEvent::Content(ref text) => {
                self.answering = true;
                self.answered |= !text.trim().is_empty();
                self.answer_chunks += 1;
                Step::Emit(SessionEvent::Delta(event))
            }
            BackendEvent::ToolCall(_) => {
                self.answering = true;
                self.answered = true;
                Step::Emit(SessionEvent::Delta(event))
            }
            BackendEvent::Finish(reason) => {
                self.finish = Some(reason);
                Step::Quiet
            }
            BackendEvent::Usage(u) => {
                self.usage = Some(u);
                self.count_reported(u.completion_tokens)
            }
            other => Step::Emit(SessionEvent::Delta(other)),
        }
    }

    /// The reasoning streamed so far (what a probe continues from).
    pub fn reasoning(&self) -> &str {
        &self.reasoning
    }

    /// A probe's outcome: the brake it decides, if any. Once the model has
    /// started its answer there is nothing left to brake.
    pub fn probe_result(&mut self, outcome: &ProbeOutcome) -> Option<Brake> {
        match self.monitor.probe_result(outcome) {
            Verdict::Brake(brake) if !self.answering => Some(brake),
            _ => None,
        }
    }

    /// The upstream finished after reasoning but with no answer (the model
    /// closed its think block and stopped, or hit its length limit inside
    /// it): the session brakes as rule `no_answer` and asks for the answer,
    /// so a client never gets an empty reply.
    pub fn missing_answer(&self) -> Option<Brake> {
        if self.answered || self.reasoning.trim().is_empty() {
            return None;
        }
        let finish = self.finish.as_deref().unwrap_or("stop");
        Some(self.forced(
            "no_answer",
            format!("the reasoning ended ({finish}) without an answer"),
        ))
    }

    /// The backend reported `completion_tokens` so far (on every chunk where
    /// it can: vLLM's and SGLang's `continuous_usage_stats`). While the
    /// model reasons they are all reasoning tokens, so the monitor's count
    /// of one token a chunk is raised to the real figure, and a budget
    /// crossed by a chunk of several tokens brakes at once.
    fn count_reported(&mut self, completion_tokens: u64) -> Step {
        let counted = self.monitor.tokens();
        if self.answering || completion_tokens <= counted {
            return Step::Quiet;
        }
        let extra = u32::try_from(completion_tokens - counted).unwrap_or(u32::MAX);
        match self.monitor.observe_tokens("", extra) {
            Verdict::Brake(brake) => Step::BrakeNow(brake),
            verdict => match self.over_budget(self.monitor.tokens()) {
                Some(brake) => Step::BrakeNow(brake),
                None => {
                    if let Verdict::Probe(request) = verdict {
                        self.pending_probe = Some(request);
                    }
                    Step::Quiet
                }
            },
        }
    }

    /// The request's own limits on reasoning: its budget, and what its
    /// `max_tokens` leaves for the answer.
    fn over_budget(&self, tokens: u64) -> Option<Brake> {
        match (self.budget, self.cap_at) {
            (Some(budget), _) if tokens >= budget => Some(self.forced(
                "thinking_budget",
                format!("the request's reasoning budget of {budget} tokens"),
            )),
            (_, Some(at)) if tokens >= at => Some(self.forced(
                "max_tokens",
                format!(
                    "{at} reasoning tokens: the rest of the client's max_tokens is for the answer"
                ),
            )),
            _ => None,
        }
    }

    /// The end of a reply whose reasoning after the answer went over a
    /// budget: what was generated stands, marked as braked, cut for length.
    pub fn cut(self, brake: Brake, policy: &str) -> Summary {
        let reasoning_tokens = self.monitor.tokens() + self.late_tokens;
        let mut usage = usage::unbraked(self.usage, reasoning_tokens, self.answer_chunks);
        usage.completion_tokens = usage
            .completion_tokens
            .max(reasoning_tokens + self.answer_chunks);
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        usage.reasoning_tokens = Some(reasoning_tokens);
        let answer_tokens = usage.completion_tokens.saturating_sub(reasoning_tokens);
        Summary {
            finish_reason: "length".into(),
            usage,
            report: report(
                policy,
                Some(&brake),
                reasoning_tokens,
                answer_tokens,
                AnswerSource::Model,
            ),
        }
    }

    /// A brake the request itself asks for (not a policy rule).
    fn forced(&self, rule: &'static str, reason: String) -> Brake {
        Brake {
            rule,
            reason,
            answer: self.monitor.answer().map(str::to_string),
            tokens: self.monitor.tokens(),
        }
    }

    /// The upstream finished without a brake.
    pub fn finish(self, policy: &str) -> Summary {
        let reasoning_tokens = self.monitor.tokens() + self.late_tokens;
        let usage = usage::unbraked(self.usage, reasoning_tokens, self.answer_chunks);
        let answer_tokens = usage.completion_tokens.saturating_sub(reasoning_tokens);
        Summary {
            finish_reason: self.finish.unwrap_or_else(|| "stop".into()),
            usage,
            report: report(
                policy,
                None,
                reasoning_tokens,
                answer_tokens,
                AnswerSource::Model,
            ),
        }
    }

    /// The monitor braked: close the reasoning with `statement`.
    pub fn brake(self, brake: Brake, statement: &str) -> Braking {
        let answer = brake
            .answer
            .clone()
            .or_else(|| self.monitor.answer().map(str::to_string));
        Braking::new(
            brake,
            self.reasoning,
            statement,
            self.monitor.tokens(),
            answer,
        )
    }
}

#[cfg(test)]
#[path = "thinking_tests.rs"]
mod tests;
