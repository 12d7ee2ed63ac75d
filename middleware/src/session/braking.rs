//! Braking: the upstream generation is cut; the reasoning is closed with
//! the brake statement, and the answer is asked for (or extracted, or
//! left out, as the policy's `on_brake` says).
use selfbrake_adapters::{AdapterError, BackendEvent, Continuation, ContinuationMode};
use selfbrake_policies::text::answer_statement;
use selfbrake_policies::Brake;

use super::answering::Answering;
use super::report::report;
use super::usage;
use super::{AnswerSource, SessionEvent, Summary};
use crate::config::OnBrake;

pub(super) struct Braking {
    brake: Brake,
    /// The kept reasoning, then the statement: what the model answers from.
    kept: String,
    /// What the client gets after the cut (the statement, on its own step).
    statement: String,
    reasoning_tokens: u64,
    /// The candidate answer the monitor believes at the cut.
    answer: Option<String>,
}

impl Braking {
    pub fn new(
        brake: Brake,
        mut reasoning: String,
        statement: &str,
        reasoning_tokens: u64,
        answer: Option<String>,
    ) -> Self {
        let separator = if reasoning.ends_with("\n\n") {
            ""
        } else if reasoning.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        let statement = format!("{separator}{statement}");
        reasoning.push_str(&statement);
        Braking {
            brake,
            kept: reasoning,
            statement,
            reasoning_tokens,
            answer,
        }
    }

    #[cfg(test)]
    pub fn kept(&self) -> &str {
        &self.kept
    }

    pub fn brake(&self) -> &Brake {
        &self.brake
    }

    /// The statement, as reasoning for the client.
    pub fn statement_event(&self) -> SessionEvent {
        SessionEvent::Delta(BackendEvent::Reasoning(self.statement.clone()))
    }

    /// What to do, given what the backend can: a backend with no
    /// continuation answers with the extracted candidate instead.
    /// `probe_answer` applies to the probe rule's brakes, which carry the
    /// probe's answer; any other brake continues.
    pub fn plan(&self, configured: OnBrake, mode: ContinuationMode) -> OnBrake {
        let configured = match configured {
            OnBrake::ProbeAnswer if self.brake.rule == "probe" && self.answer.is_some() => {
                return OnBrake::ProbeAnswer
            }
            OnBrake::ProbeAnswer => OnBrake::Continue,
            other => other,
        };
        match (configured, mode) {
            (OnBrake::Continue, ContinuationMode::None) => OnBrake::Extract,
            (other, _) => other,
        }
    }

    pub fn continuation(&self, max_tokens: u32) -> Continuation {
        Continuation {
            reasoning: self.kept.clone(),
            max_tokens,
        }
    }

    /// The continuation opened. `wrapping` is what the backend's prefix
    /// adds around the kept text (for usage accounting).
    pub fn answering(self, wrapping: usize) -> Answering {
        let prefix_extra = self.statement.len() + wrapping;
        Answering::new(self, prefix_extra)
    }

    /// Ends without a continuation (`extract` or `stop`, or the
    /// continuation failed before its first token): the extracted answer,
    /// if any, then the end.
    pub fn close(
        self,
        on_brake: OnBrake,
        failure: Option<AdapterError>,
        policy: &str,
        wrapping: usize,
    ) -> Vec<SessionEvent> {
        let on_brake = if let Some(e) = &failure {
            tracing::warn!(error = %e, "continuation failed after a brake; answering with the extracted answer");
            OnBrake::Extract
        } else {
            on_brake
        };
        let (text, source) = match (on_brake, self.answer.as_deref()) {
            (OnBrake::Extract, Some(answer)) => {
                (Some(answer_statement(answer)), AnswerSource::Extracted)
            }
            (OnBrake::ProbeAnswer, Some(answer)) => {
                (Some(answer_statement(answer)), AnswerSource::Probe)
            }
            _ => (None, AnswerSource::None),
        };
        let usage = usage::braked(self.reasoning_tokens, self.statement.len() + wrapping, None);
        let mut report = report(policy, Some(&self.brake), self.reasoning_tokens, 0, source);
        if let Some(e) = failure {
            report.reason = Some(format!("{}; continuation failed: {e}", self.brake.reason));
        }
        let mut events: Vec<SessionEvent> = text
            .map(|t| SessionEvent::Delta(BackendEvent::Content(t)))
            .into_iter()
            .collect();
        events.push(SessionEvent::End(Box::new(Summary {
            finish_reason: "stop".into(),
            usage,
            report,
        })));
        events
    }

    /// The tokens the monitor counted before the cut.
    pub fn reasoning_tokens(&self) -> u64 {
        self.reasoning_tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn braking(reasoning: &str, answer: Option<&str>) -> Braking {
        let brake = Brake {
            rule: "convergence",
            reason: "same answer twice".into(),
            answer: answer.map(str::to_string),
            tokens: 7,
        };
        Braking::new(
            brake,
            reasoning.into(),
            "Stop.",
            7,
            answer.map(str::to_string),
        )
    }

    #[test]
    fn the_statement_starts_a_step_of_its_own() {
        assert_eq!(braking("x = 4.", None).kept(), "x = 4.\n\nStop.");
        assert_eq!(braking("x = 4.\n", None).kept(), "x = 4.\n\nStop.");
        assert_eq!(braking("x = 4.\n\n", None).kept(), "x = 4.\n\nStop.");
    }

    #[test]
    fn a_backend_without_continuation_extracts() {
        let b = braking("x = 4.", Some("4"));
        assert_eq!(
            b.plan(OnBrake::Continue, ContinuationMode::None),
            OnBrake::Extract
        );
        assert_eq!(
            b.plan(OnBrake::Continue, ContinuationMode::Prefill),
            OnBrake::Continue
        );
        assert_eq!(b.plan(OnBrake::Stop, ContinuationMode::None), OnBrake::Stop);
    }

    #[test]
    fn probe_answer_applies_to_probe_brakes_only() {
        let mode = ContinuationMode::ContinueFinalMessage;
        let other = braking("x = 4.", Some("4"));
        assert_eq!(other.plan(OnBrake::ProbeAnswer, mode), OnBrake::Continue);
        let mut probed = braking("x = 4.", Some("4"));
        probed.brake.rule = "probe";
        assert_eq!(
            probed.plan(OnBrake::ProbeAnswer, mode),
            OnBrake::ProbeAnswer
        );
        let events = probed.close(OnBrake::ProbeAnswer, None, "p", 0);
        let [SessionEvent::Delta(BackendEvent::Content(text)), SessionEvent::End(summary)] =
            &events[..]
        else {
            panic!("the probe's answer, then the end: {events:?}");
        };
        assert_eq!(text, "The final answer is $\\boxed{4}$.");
        assert_eq!(summary.report.answer_source, AnswerSource::Probe);
    }

    #[test]
    fn extract_answers_with_the_believed_candidate() {
        let events = braking("x = 4.", Some("4")).close(OnBrake::Extract, None, "p", 0);
        let [SessionEvent::Delta(BackendEvent::Content(text)), SessionEvent::End(summary)] =
            &events[..]
        else {
            panic!("an answer, then the end: {events:?}");
        };
        assert_eq!(text, "The final answer is $\\boxed{4}$.");
        assert_eq!(summary.report.answer_source, AnswerSource::Extracted);
        assert_eq!(summary.report.rule.as_deref(), Some("convergence"));
        assert_eq!(summary.usage.reasoning_tokens, Some(7));
    }

    #[test]
    fn stop_ends_with_the_reasoning_only() {
        let events = braking("x = 4.", Some("4")).close(OnBrake::Stop, None, "p", 0);
        let [SessionEvent::End(summary)] = &events[..] else {
            panic!("only the end: {events:?}");
        };
        assert_eq!(summary.report.answer_source, AnswerSource::None);
    }

    #[test]
    fn a_failed_continuation_falls_back_to_extract_and_says_why() {
        let failure = AdapterError::Connect("refused".into());
        let events = braking("x = 4.", Some("4")).close(OnBrake::Continue, Some(failure), "p", 0);
        let Some(SessionEvent::End(summary)) = events.last() else {
            panic!("ends: {events:?}");
        };
        assert_eq!(summary.report.answer_source, AnswerSource::Extracted);
        let reason = summary.report.reason.as_deref().unwrap();
        assert!(reason.contains("continuation failed"), "{reason}");
    }
}
