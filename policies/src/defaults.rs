use crate::{AnswerForm, RuleSpec};

/// The rules of the shipped default policy.
///
/// Kept in sync by hand with `examples/policies/default.toml` (the policies
/// crate has no TOML parser; the middleware's tests parse that file and
/// compare it with this list).
pub fn default_rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::Convergence {
            repeats: 2,
            form: AnswerForm::Equation,
            verified: true,
            min_tokens: 0,
        },
        RuleSpec::Repetition {
            ngram: 16,
            repeats: 4,
            min_tokens: 0,
        },
        RuleSpec::Budget {
            max_reasoning_tokens: 16384,
            min_tokens: 0,
        },
    ]
}
