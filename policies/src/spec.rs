use serde::{Deserialize, Serialize};

use crate::PolicyError;

/// One rule of a policy, as written in config (`{ kind = "budget", ... }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleSpec {
    /// Hard cap on reasoning tokens.
    Budget {
        max_reasoning_tokens: u64,
        #[serde(default)]
        min_tokens: u64,
    },
}

impl RuleSpec {
    /// The `kind` string of this rule.
    pub fn kind(&self) -> &'static str {
        match self {
            RuleSpec::Budget { .. } => "budget",
        }
    }

    /// Checks parameter ranges; `path` prefixes the key names in errors.
    pub fn validate(&self, path: &str) -> Result<(), PolicyError> {
        match self {
            RuleSpec::Budget {
                max_reasoning_tokens,
                ..
            } if *max_reasoning_tokens == 0 => Err(PolicyError::InvalidParameter {
                path: format!("{path}.max_reasoning_tokens"),
                message: "must be at least 1".into(),
            }),
            _ => Ok(()),
        }
    }
}
