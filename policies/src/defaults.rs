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
        step_convergence(4, AnswerForm::Equation, true),
        step_convergence(2, AnswerForm::Stated, false),
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
    convergence(repeats, AnswerForm::Equation, false, true)
}

/// A value of at least `form` concluding `repeats` separate steps (with a
/// verification marker between them if `verified`); forgotten when used as
/// an operand.
fn step_convergence(repeats: u32, form: AnswerForm, verified: bool) -> RuleSpec {
    convergence(repeats, form, verified, false)
}

fn convergence(repeats: u32, form: AnswerForm, verified: bool, then_recheck: bool) -> RuleSpec {
    RuleSpec::Convergence {
        repeats,
        form,
        verified,
        conclusions: true,
        reset_on_operand: true,
        openers_only: false,
        then_recheck,
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
        step_convergence(3, AnswerForm::Equation, true),
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
