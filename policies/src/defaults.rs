use crate::{AnswerForm, RuleSpec};

/// The rules of the shipped default policy (see README for how it was
/// measured): any of a value concluded twice and then checked yet again, a
/// value that survived three re-checks, an answer stated ("the answer is",
/// `\boxed`) in two separate steps, sustained hesitation (κ > 0.04) in a
/// long trace, a generation loop, or a hard cap.
///
/// Kept in sync by hand with `examples/policies/default.toml` (the policies
/// crate has no TOML parser; the middleware's tests parse that file and
/// compare it with this list).
pub fn default_rules() -> Vec<RuleSpec> {
    vec![
        recheck_convergence(2),
        RuleSpec::Convergence {
            repeats: 4,
            form: AnswerForm::Equation,
            verified: true,
            conclusions: true,
            reset_on_operand: true,
            openers_only: false,
            then_recheck: false,
            min_tokens: 0,
        },
        RuleSpec::Convergence {
            repeats: 2,
            form: AnswerForm::Stated,
            verified: false,
            conclusions: true,
            reset_on_operand: true,
            openers_only: false,
            then_recheck: false,
            min_tokens: 0,
        },
        // Early hesitation is a model searching, not circling: density
        // counts only in traces already past 2048 tokens.
        RuleSpec::Markers {
            threshold: 0.04,
            window: 512,
            min_tokens: 2048,
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

/// A value concluded by `repeats` steps (`= X.` or stronger, no free
/// variable), then a later step that opens yet another explicit check.
fn recheck_convergence(repeats: u32) -> RuleSpec {
    RuleSpec::Convergence {
        repeats,
        form: AnswerForm::Equation,
        verified: false,
        conclusions: true,
        reset_on_operand: true,
        openers_only: false,
        then_recheck: true,
        min_tokens: 0,
    }
}

/// The cautious end of the trade-off curve (`examples/policies/cautious.toml`):
/// only a converged value re-checked once more.
pub fn cautious_rules() -> Vec<RuleSpec> {
    vec![
        recheck_convergence(2),
        RuleSpec::Repetition {
            ngram: 32,
            repeats: 5,
            min_tokens: 0,
        },
        RuleSpec::Budget {
            max_reasoning_tokens: 32768,
            min_tokens: 0,
        },
    ]
}

/// The aggressive end (`examples/policies/aggressive.toml`): also brakes on
/// three agreeing step conclusions with a re-check between, and on lower
/// sustained hesitation.
pub fn aggressive_rules() -> Vec<RuleSpec> {
    vec![
        recheck_convergence(2),
        RuleSpec::Convergence {
            repeats: 3,
            form: AnswerForm::Equation,
            verified: true,
            conclusions: true,
            reset_on_operand: true,
            openers_only: false,
            then_recheck: false,
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
