//! Answering: the continuation streams the model's answer from the kept
//! reasoning.
use selfbrake_adapters::{AdapterError, BackendEvent, Usage};

use super::braking::Braking;
use super::report::report;
use super::usage;
use super::{AnswerSource, SessionEvent, Summary};

pub(super) struct Answering {
    braking: Braking,
    prefix_extra: usize,
    usage: Option<Usage>,
    finish: Option<String>,
    chunks: u64,
}

/// What one continuation item does.
pub(super) enum Step {
    /// Pass this on; keep answering.
    Emit(Answering, SessionEvent),
    /// Nothing for the client; keep answering.
    Quiet(Answering),
    /// Failed after the client got part of the answer: the response ends with an error.
    Failed(AdapterError),
    /// Failed before any of the answer: the session can still fall back.
    FallBack(Braking, AdapterError),
}

impl Answering {
    pub fn new(braking: Braking, prefix_extra: usize) -> Self {
        Answering {
            braking,
            prefix_extra,
            usage: None,
            finish: None,
            chunks: 0,
        }
    }

    pub fn observe(mut self, item: Result<BackendEvent, AdapterError>) -> Step {
        match item {
            // The think block is closed in the prefix, so whatever a
            // reasoning parser upstream labels reasoning is the answer.
            Ok(BackendEvent::Content(delta) | BackendEvent::Reasoning(delta)) => {
                self.chunks += 1;
                Step::Emit(self, SessionEvent::Delta(BackendEvent::Content(delta)))
            }
            Ok(BackendEvent::Finish(reason)) => {
                self.finish = Some(reason);
                Step::Quiet(self)
            }
            Ok(BackendEvent::Usage(u)) => {
                self.usage = Some(u);
                Step::Quiet(self)
            }
            // The client already has the completion's identity.
            Ok(BackendEvent::Meta { .. }) => Step::Quiet(self),
            Ok(other) => Step::Emit(self, SessionEvent::Delta(other)),
            Err(e) if self.chunks > 0 => Step::Failed(e),
            Err(e) => Step::FallBack(self.braking, e),
        }
    }

    /// The continuation finished.
    pub fn finish(self, policy: &str) -> Summary {
        let reasoning_tokens = self.braking.reasoning_tokens();
        let usage = usage::braked(reasoning_tokens, self.prefix_extra, self.usage);
        let answer_tokens = self.usage.map_or(self.chunks, |u| u.completion_tokens);
        Summary {
            finish_reason: self.finish.unwrap_or_else(|| "stop".into()),
            usage,
            report: report(
                policy,
                Some(self.braking.brake()),
                reasoning_tokens,
                answer_tokens,
                AnswerSource::Continuation,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use selfbrake_policies::Brake;

    use super::*;

    fn answering() -> Answering {
        let brake = Brake {
            rule: "budget",
            reason: "budget".into(),
            answer: None,
            tokens: 40,
        };
        Braking::new(brake, "r".into(), "S.", 40, None).answering(20)
    }

    #[test]
    fn reasoning_labelled_by_the_upstream_is_answer_text() {
        let step = answering().observe(Ok(BackendEvent::Reasoning("4".into())));
        assert!(matches!(
            step,
            Step::Emit(_, SessionEvent::Delta(BackendEvent::Content(t))) if t == "4"
        ));
    }

    #[test]
    fn an_error_before_any_answer_falls_back_and_after_it_fails() {
        let step = answering().observe(Err(AdapterError::Closed("x".into())));
        assert!(matches!(step, Step::FallBack(..)));
        let Step::Emit(state, _) = answering().observe(Ok(BackendEvent::Content("4".into())))
        else {
            panic!("content is emitted");
        };
        let step = state.observe(Err(AdapterError::Closed("x".into())));
        assert!(matches!(step, Step::Failed(_)));
    }

    #[test]
    fn usage_sums_both_calls() {
        let Step::Emit(state, _) = answering().observe(Ok(BackendEvent::Content("4".into())))
        else {
            panic!("content is emitted");
        };
        let cont = Usage {
            prompt_tokens: 100 + 40 + 5,
            completion_tokens: 12,
            total_tokens: 157,
            reasoning_tokens: None,
        };
        let Step::Quiet(state) = state.observe(Ok(BackendEvent::Usage(cont))) else {
            panic!("usage is kept");
        };
        let summary = state.finish("p");
        assert_eq!(summary.usage.completion_tokens, 52);
        assert_eq!(summary.report.answer_tokens, 12);
        assert_eq!(summary.report.answer_source, AnswerSource::Continuation);
        assert!(summary.report.braked);
    }
}
