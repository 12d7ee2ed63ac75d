use serde::{Deserialize, Serialize};

use crate::rules::probe::ProbeSpec;
use crate::text::Strength;
use crate::PolicyError;

/// One rule of a policy, as written in config (`{ kind = "budget", ... }`).
///
/// Every rule takes `min_tokens`: it may not fire before that many reasoning
/// tokens, so a short, easy problem is never cut by a heuristic tuned on long
/// ones. A rule whose condition holds earlier fires as soon as the minimum is
/// reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleSpec {
    /// Hard cap on reasoning tokens.
    Budget {
        max_reasoning_tokens: u64,
        #[serde(default)]
        min_tokens: u64,
    },
    /// The same normalised answer stated in `repeats` separate steps: the
    /// foundation solution plus `repeats - 1` evolution solutions that agree.
    Convergence {
        /// Steps that must state the answer (default 2).
        #[serde(default = "defaults::repeats")]
        repeats: u32,
        /// Weakest answer form that counts (default `equation`: a sentence
        /// ending `= X.`; `stated` adds "the answer is X" and
        /// "**Final Answer**"; `boxed` only `\boxed{X}`).
        #[serde(default = "defaults::form")]
        form: Strength,
        /// Require a verification marker ("wait", "let me check", ...)
        /// between two counted statements (default true): a re-check that
        /// agrees, not the same number carried along.
        #[serde(default = "defaults::verified")]
        verified: bool,
        /// Count only each step's conclusion, its last answer, when the step
        /// ends (default true): a re-check restates intermediate results on
        /// its way, but ends on the answer it checked. The brake then falls
        /// on the blank line after the agreeing step.
        #[serde(default = "defaults::conclusions")]
        conclusions: bool,
        /// Forget an answer's count when the value is then computed with
        /// ("117 + 126"), the mark of an intermediate result (default true).
        #[serde(default = "defaults::reset_on_operand")]
        reset_on_operand: bool,
        /// Count only verification markers in the first sentence of a step,
        /// where SBT's evolution solutions open (default false).
        #[serde(default)]
        openers_only: bool,
        /// Once converged, brake only when a later step opens (in its first
        /// sentence) with an explicit check ("let me check", "verify",
        /// "confirm", "just to make sure"; a bare "Wait" or "Alternatively"
        /// does not count): the model starts yet another check of a settled
        /// value instead of moving on to the next part (default false). A
        /// later step concluding something else, or the value used as an
        /// operand, disarms it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        then_recheck: bool,
        /// Once converged, brake only at a step end where the reasoning
        /// since the value was first concluded is at least `settle` times
        /// the reasoning before it (in characters), no other value having
        /// been concluded and the value not computed with meanwhile (default
        /// 0: brake at once). A threshold relative to the reasoning so far,
        /// so it judges a 300-token GSM8K trace and a 10,000-token MATH one
        /// alike, where an absolute token count fits only one of them.
        #[serde(default, skip_serializing_if = "is_zero")]
        settle: f64,
        #[serde(default)]
        min_tokens: u64,
    },
    /// Marker density κ (marker tokens / tokens) over the last `window`
    /// tokens above `threshold`: the model keeps hesitating.
    Markers {
        /// Default 0.04 (marker tokens per token): about three times the
        /// average density of the dev traces.
        #[serde(default = "defaults::kappa")]
        threshold: f64,
        /// Default 512 tokens.
        #[serde(default = "defaults::window")]
        window: u32,
        /// Default 512 tokens.
        #[serde(default = "defaults::markers_min")]
        min_tokens: u64,
    },
    /// SBT's overthink score β·κ + (1−β)(1−η) above `tau`, with η = steps up
    /// to the first candidate answer / steps so far.
    Overthink {
        /// Default 0.1 (SBT).
        #[serde(default = "defaults::beta")]
        beta: f64,
        /// Default 0.2 (SBT).
        #[serde(default = "defaults::tau")]
        tau: f64,
        /// Weakest answer form that sets the foundation step (default
        /// `stated`).
        #[serde(default = "defaults::stated")]
        form: Strength,
        /// Steps after the foundation before the score may fire (default 2).
        #[serde(default = "defaults::min_steps")]
        min_steps_after: u32,
        #[serde(default)]
        min_tokens: u64,
    },
    /// The same `ngram` words repeated `repeats` times: a generation loop.
    Repetition {
        /// Default 32 words.
        #[serde(default = "defaults::ngram")]
        ngram: u32,
        /// Default 5 occurrences; no dev trace comes close.
        #[serde(default = "defaults::loop_repeats")]
        repeats: u32,
        #[serde(default)]
        min_tokens: u64,
    },
    /// Ask the model (see [`crate::rules::probe`]): confirm the other rules'
    /// brakes, or brake on the probes' own answers.
    Probe(ProbeSpec),
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Documented defaults, one function per serde default.
pub(crate) mod defaults {
    use super::Strength;
    pub fn repeats() -> u32 {
        2
    }
    pub fn form() -> Strength {
        Strength::Equation
    }
    pub fn stated() -> Strength {
        Strength::Stated
    }
    pub fn verified() -> bool {
        true
    }
    pub fn conclusions() -> bool {
        true
    }
    pub fn reset_on_operand() -> bool {
        true
    }
    pub fn kappa() -> f64 {
        0.04
    }
    pub fn window() -> u32 {
        512
    }
    pub fn markers_min() -> u64 {
        512
    }
    pub fn beta() -> f64 {
        0.1
    }
    pub fn tau() -> f64 {
        0.2
    }
    pub fn min_steps() -> u32 {
        2
    }
    pub fn ngram() -> u32 {
        32
    }
    pub fn loop_repeats() -> u32 {
        5
    }
}

impl RuleSpec {
    /// The `kind` string of this rule.
    pub fn kind(&self) -> &'static str {
        match self {
            RuleSpec::Budget { .. } => "budget",
            RuleSpec::Convergence { .. } => "convergence",
            RuleSpec::Markers { .. } => "markers",
            RuleSpec::Overthink { .. } => "overthink",
            RuleSpec::Repetition { .. } => "repetition",
            RuleSpec::Probe(_) => "probe",
        }
    }

    /// Tokens before which this rule may not fire.
    pub fn min_tokens(&self) -> u64 {
        match self {
            RuleSpec::Budget { min_tokens, .. }
            | RuleSpec::Convergence { min_tokens, .. }
            | RuleSpec::Markers { min_tokens, .. }
            | RuleSpec::Overthink { min_tokens, .. }
            | RuleSpec::Repetition { min_tokens, .. } => *min_tokens,
            RuleSpec::Probe(p) => p.min_tokens,
        }
    }

    /// Checks parameter ranges; `path` prefixes the key names in errors.
    pub fn validate(&self, path: &str) -> Result<(), PolicyError> {
        let bad = |key: &str, message: &str| {
            Err(PolicyError::InvalidParameter {
                path: format!("{path}.{key}"),
                message: message.into(),
            })
        };
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        match *self {
            RuleSpec::Probe(ref p) => p.validate(path),
            RuleSpec::Budget {
                max_reasoning_tokens: 0,
                ..
            } => bad("max_reasoning_tokens", "must be at least 1"),
            RuleSpec::Convergence { repeats, .. } if !(1..=64).contains(&repeats) => {
                bad("repeats", "must be between 1 and 64")
            }
            RuleSpec::Convergence { settle, .. } if !(0.0..=100.0).contains(&settle) => {
                bad("settle", "must be between 0 and 100")
            }
            RuleSpec::Markers { threshold, .. } if !(threshold > 0.0 && threshold <= 1.0) => {
                bad("threshold", "must be in (0, 1]")
            }
            RuleSpec::Markers { window, .. } if !(8..=65_536).contains(&window) => {
                bad("window", "must be between 8 and 65536 tokens")
            }
            RuleSpec::Overthink { beta, .. } if !unit(beta) => bad("beta", "must be in [0, 1]"),
            RuleSpec::Overthink { tau, .. } if !(tau > 0.0 && tau < 1.0) => {
                bad("tau", "must be in (0, 1)")
            }
            RuleSpec::Repetition { ngram, .. } if !(2..=256).contains(&ngram) => {
                bad("ngram", "must be between 2 and 256 words")
            }
            RuleSpec::Repetition { repeats, .. } if !(2..=64).contains(&repeats) => {
                bad("repeats", "must be between 2 and 64")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_convergence_config_parses_with_defaults() {
        let r: RuleSpec = serde_json::from_str(r#"{"kind":"convergence","repeats":3}"#).unwrap();
        assert_eq!(
            r,
            RuleSpec::Convergence {
                repeats: 3,
                form: Strength::Equation,
                verified: true,
                conclusions: true,
                reset_on_operand: true,
                openers_only: false,
                then_recheck: false,
                settle: 0.0,
                min_tokens: 0
            }
        );
        assert!(serde_json::from_str::<RuleSpec>(r#"{"kind":"convergence","repeat":3}"#).is_err());
    }

    #[test]
    fn errors_name_the_key_path() {
        let r = RuleSpec::Convergence {
            repeats: 0,
            form: Strength::Stated,
            verified: false,
            conclusions: true,
            reset_on_operand: true,
            openers_only: false,
            then_recheck: false,
            settle: 0.0,
            min_tokens: 0,
        };
        let e = r.validate("rules[1]").unwrap_err();
        assert_eq!(e.to_string(), "rules[1].repeats: must be between 1 and 64");
        let m: RuleSpec = serde_json::from_str(r#"{"kind":"markers","threshold":2.0}"#).unwrap();
        assert!(m
            .validate("r")
            .unwrap_err()
            .to_string()
            .starts_with("r.threshold"));
    }
}
