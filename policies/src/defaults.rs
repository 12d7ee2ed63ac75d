use crate::{AnswerForm, RuleSpec};

/// The rules of the shipped default policy (see README for how it was
/// measured): any of an agreeing re-check of a stated answer, sustained
/// hesitation, SBT's overthink score, a generation loop, or a hard cap.
///
/// Kept in sync by hand with `examples/policies/default.toml` (the policies
/// crate has no TOML parser; the middleware's tests parse that file and
/// compare it with this list).
pub fn default_rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::Convergence {
            repeats: 2,
            form: AnswerForm::Stated,
            verified: true,
            conclusions: true,
            reset_on_operand: true,
            openers_only: false,
            min_tokens: 0,
        },
        RuleSpec::Markers {
            threshold: 0.04,
            window: 512,
            min_tokens: 512,
        },
        RuleSpec::Overthink {
            beta: 0.1,
            tau: 0.2,
            form: AnswerForm::Stated,
            min_steps_after: 2,
            min_tokens: 0,
        },
        RuleSpec::Repetition {
            ngram: 32,
            repeats: 5,
            min_tokens: 0,
        },
        RuleSpec::Budget {
            max_reasoning_tokens: 16384,
            min_tokens: 0,
        },
    ]
}

/// The cautious end of the trade-off curve (`examples/policies/cautious.toml`).
pub fn cautious_rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::Convergence {
            repeats: 2,
            form: AnswerForm::Stated,
            verified: true,
            conclusions: true,
            reset_on_operand: true,
            openers_only: false,
            min_tokens: 0,
        },
        RuleSpec::Overthink {
            beta: 0.1,
            tau: 0.2,
            form: AnswerForm::Stated,
            min_steps_after: 2,
            min_tokens: 0,
        },
        RuleSpec::Budget {
            max_reasoning_tokens: 32768,
            min_tokens: 0,
        },
    ]
}

/// The aggressive end (`examples/policies/aggressive.toml`): also brakes on
/// three agreeing step conclusions of any form, `= X.` included.
pub fn aggressive_rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::Convergence {
            repeats: 3,
            form: AnswerForm::Equation,
            verified: true,
            conclusions: true,
            reset_on_operand: true,
            openers_only: true,
            min_tokens: 0,
        },
        RuleSpec::Markers {
            threshold: 0.04,
            window: 512,
            min_tokens: 512,
        },
        RuleSpec::Repetition {
            ngram: 32,
            repeats: 5,
            min_tokens: 0,
        },
        RuleSpec::Budget {
            max_reasoning_tokens: 8192,
            min_tokens: 0,
        },
    ]
}
