use selfbrake_policies::Brake;

use super::{AnswerSource, BrakeReport};

/// The `selfbrake` object for a session under `policy`.
pub(super) fn report(
    policy: &str,
    brake: Option<&Brake>,
    reasoning_tokens: u64,
    answer_tokens: u64,
    source: AnswerSource,
) -> BrakeReport {
    BrakeReport {
        braked: brake.is_some(),
        rule: brake.map(|b| b.rule.to_string()),
        reason: brake.map(|b| b.reason.clone()),
        policy: policy.to_string(),
        reasoning_tokens,
        answer_tokens,
        answer_source: source,
        probes: 0,
        probe_tokens: 0,
    }
}
