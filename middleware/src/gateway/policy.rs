use std::sync::Arc;

use selfbrake_policies::{RuleSet, RuleSpec};

use crate::config::{ConfigError, PolicyConfig};

/// A policy ready for requests: its settings and its rules, validated once,
/// with the tenant's reasoning ceiling already among them.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub config: PolicyConfig,
    pub rules: RuleSet,
}

impl Policy {
    /// `ceiling`: a reasoning budget no policy or request can lift (the
    /// tenant's `max_reasoning_tokens`), added as one more budget rule.
    pub fn prepare(
        name: &str,
        config: &PolicyConfig,
        ceiling: Option<u64>,
    ) -> Result<Arc<Self>, ConfigError> {
        let mut specs = config.rules.clone();
        if let Some(max) = ceiling {
            specs.push(RuleSpec::Budget {
                max_reasoning_tokens: max,
                min_tokens: 0,
            });
        }
        let rules = RuleSet::new(specs)
            .map_err(|e| ConfigError::at(format!("policies.{name}"), e.to_string()))?;
        Ok(Arc::new(Policy {
            name: name.to_string(),
            config: config.clone(),
            rules,
        }))
    }
}
