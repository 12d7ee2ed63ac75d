use std::sync::Arc;

use crate::{PolicyError, RuleSpec};

/// Rules checked once, when a policy is prepared, so that every
/// [`Monitor`](crate::Monitor) built from them later cannot fail. Cheap to
/// clone (shared).
///
/// ```
/// use selfbrake_policies::{Monitor, RuleSet, RuleSpec};
///
/// let rules = RuleSet::new(vec![RuleSpec::Budget { max_reasoning_tokens: 8, min_tokens: 0 }]).unwrap();
/// let monitor = Monitor::with_rules(&rules); // infallible
/// assert_eq!(monitor.tokens(), 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Arc<[RuleSpec]>,
}

impl RuleSet {
    /// Validates every rule; the error names the first bad one (`rules[i]`).
    pub fn new(rules: Vec<RuleSpec>) -> Result<Self, PolicyError> {
        for (i, rule) in rules.iter().enumerate() {
            rule.validate(&format!("rules[{i}]"))?;
        }
        if let Some(i) = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind() == "probe")
            .nth(1)
            .map(|(i, _)| i)
        {
            return Err(PolicyError::InvalidParameter {
                path: format!("rules[{i}]"),
                message: "a policy takes one probe rule".into(),
            });
        }
        Ok(RuleSet {
            rules: rules.into(),
        })
    }

    pub fn specs(&self) -> &[RuleSpec] {
        &self.rules
    }
}
