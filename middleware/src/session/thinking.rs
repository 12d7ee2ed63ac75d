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
mod tests {
    use selfbrake_policies::RuleSpec;

    use super::*;

    fn budget(max: u64) -> Thinking {
        let rules = [RuleSpec::Budget {
            max_reasoning_tokens: max,
            min_tokens: 0,
        }];
        Thinking::new(Monitor::new(&rules).unwrap())
    }

    #[test]
    fn reasoning_is_passed_on_until_the_monitor_brakes() {
        let mut t = budget(2);
        assert!(matches!(
            t.observe(BackendEvent::Reasoning("a".into())),
            Step::Emit(SessionEvent::Delta(BackendEvent::Reasoning(_)))
        ));
        match t.observe(BackendEvent::Reasoning("b".into())) {
            Step::Brake(SessionEvent::Delta(BackendEvent::Reasoning(r)), brake) => {
                assert_eq!(r, "b");
                assert_eq!(brake.rule, "budget");
            }
            _ => panic!("the second token reaches the budget"),
        }
    }

    #[test]
    fn reasoning_after_the_answer_started_is_not_watched() {
        let mut t = budget(1);
        t.observe(BackendEvent::Content("4".into()));
        assert!(matches!(
            t.observe(BackendEvent::Reasoning("more".into())),
            Step::Emit(_)
        ));
    }

    #[test]
    fn reasoning_after_the_answer_counts_against_the_request_budget() {
        let mut t = budget(100);
        t.limit_reasoning(3);
        t.observe(BackendEvent::Reasoning("a".into()));
        t.observe(BackendEvent::Content("4".into()));
        assert!(matches!(
            t.observe(BackendEvent::Reasoning("b".into())),
            Step::Emit(_)
        ));
        let Step::Cut(_, brake) = t.observe(BackendEvent::Reasoning("c".into())) else {
            panic!("the third reasoning token, after the answer, reaches the budget of 3");
        };
        assert_eq!(brake.rule, "thinking_budget");
        let summary = t.cut(brake, "p");
        assert_eq!(summary.finish_reason, "length");
        assert_eq!(summary.report.reasoning_tokens, 3);
        assert!(summary.report.braked);
    }

    #[test]
    fn reported_usage_raises_the_count_and_brakes_at_once() {
        let mut t = budget(10);
        t.observe(BackendEvent::Reasoning("several tokens".into()));
        let usage = |n| Usage {
            prompt_tokens: 5,
            completion_tokens: n,
            total_tokens: 5 + n,
            reasoning_tokens: None,
        };
        assert!(matches!(
            t.observe(BackendEvent::Usage(usage(6))),
            Step::Quiet
        ));
        let Step::BrakeNow(brake) = t.observe(BackendEvent::Usage(usage(12))) else {
            panic!("12 reported tokens pass the budget of 10");
        };
        assert_eq!(brake.rule, "budget");
        assert_eq!(brake.tokens, 12);
    }

    #[test]
    fn finish_and_usage_are_kept_for_the_summary() {
        let mut t = budget(100);
        t.observe(BackendEvent::Reasoning("r".into()));
        t.observe(BackendEvent::Content("four".into()));
        assert!(matches!(
            t.observe(BackendEvent::Finish("length".into())),
            Step::Quiet
        ));
        let upstream = Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            total_tokens: 15,
            reasoning_tokens: None,
        };
        assert!(matches!(
            t.observe(BackendEvent::Usage(upstream)),
            Step::Quiet
        ));
        let summary = t.finish("p");
        assert_eq!(summary.finish_reason, "length");
        assert_eq!(summary.usage.prompt_tokens, 10);
        assert_eq!(summary.usage.reasoning_tokens, Some(1));
        assert_eq!(summary.report.answer_tokens, 4);
        assert!(!summary.report.braked);
    }

    #[test]
    fn a_brake_keeps_the_reasoning_and_the_believed_answer() {
        let mut t = budget(3);
        t.observe(BackendEvent::Reasoning("So x = 4.".into()));
        t.observe(BackendEvent::Reasoning("\n\n".into()));
        let Step::Brake(_, brake) = t.observe(BackendEvent::Reasoning("Wait".into())) else {
            panic!("budget of 3 reached");
        };
        let braking = t.brake(brake, "Done.");
        assert_eq!(braking.kept(), "So x = 4.\n\nWait\n\nDone.");
    }

    #[test]
    fn a_probe_is_asked_beside_the_stream_and_its_answer_can_brake() {
        let spec = r#"[{"kind":"probe","mode":"periodic","every_tokens":8,"agree":1}]"#;
        let rules: Vec<RuleSpec> = serde_json::from_str(spec).unwrap();
        let mut t = Thinking::new(Monitor::new(&rules).unwrap());
        let mut asked = None;
        for _ in 0..8 {
            if let Step::Probe(SessionEvent::Delta(_), request) =
                t.observe(BackendEvent::Reasoning("x = 4. ".into()))
            {
                asked = Some(request);
            }
        }
        let request = asked.expect("a probe at 8 tokens, the delta passed on");
        assert_eq!(
            &t.reasoning()[..request.cut(t.reasoning())],
            "x = 4. ".repeat(8)
        );
        let answer = |text: &str| {
            ProbeOutcome::Answer(selfbrake_policies::ProbeAnswer {
                tokens: vec![selfbrake_policies::ProbeToken {
                    text: text.into(),
                    logprob: None,
                }],
            })
        };
        let brake = t
            .probe_result(&answer("4}"))
            .expect("one agreeing answer brakes");
        assert_eq!((brake.rule, brake.answer.as_deref()), ("probe", Some("4")));
    }

    #[test]
    fn a_probe_answer_after_the_model_answered_brakes_nothing() {
        let spec = r#"[{"kind":"probe","mode":"periodic","every_tokens":8,"agree":1}]"#;
        let rules: Vec<RuleSpec> = serde_json::from_str(spec).unwrap();
        let mut t = Thinking::new(Monitor::new(&rules).unwrap());
        for _ in 0..8 {
            t.observe(BackendEvent::Reasoning("x ".into()));
        }
        t.observe(BackendEvent::Content("4".into()));
        let outcome = ProbeOutcome::Answer(selfbrake_policies::ProbeAnswer {
            tokens: vec![selfbrake_policies::ProbeToken {
                text: "4}".into(),
                logprob: None,
            }],
        });
        assert!(t.probe_result(&outcome).is_none());
    }

    #[test]
    fn reasoning_without_an_answer_is_rescued() {
        let mut t = budget(100);
        t.observe(BackendEvent::Reasoning("x = 4".into()));
        t.observe(BackendEvent::Content("\n\n".into()));
        t.observe(BackendEvent::Finish("length".into()));
        let brake = t.missing_answer().expect("blank content is no answer");
        assert_eq!(brake.rule, "no_answer");
        assert!(brake.reason.contains("length"), "{}", brake.reason);
        t.observe(BackendEvent::Content("4".into()));
        assert!(t.missing_answer().is_none(), "an answer needs no rescue");
        assert!(
            budget(5).missing_answer().is_none(),
            "no reasoning: nothing to answer from"
        );
    }

    #[test]
    fn the_clients_cap_brakes_before_the_answer_would_not_fit() {
        let mut t = budget(1_000);
        t.cap_reasoning(20, 8);
        for _ in 0..11 {
            assert!(matches!(
                t.observe(BackendEvent::Reasoning("x ".into())),
                Step::Emit(_)
            ));
        }
        let Step::Brake(_, brake) = t.observe(BackendEvent::Reasoning("x ".into())) else {
            panic!("12 of 20 tokens leaves the reserve of 8");
        };
        assert_eq!(brake.rule, "max_tokens");
        let mut small = budget(1_000);
        small.cap_reasoning(10, 256);
        assert_eq!(
            small.cap_at,
            Some(5),
            "a cap under the reserve keeps half for reasoning"
        );
    }
}
