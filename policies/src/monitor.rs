use crate::rules::Budget;
use crate::{Brake, PolicyError, RuleSpec, Verdict};

/// Watches one reasoning stream and decides when to brake.
#[derive(Debug)]
pub struct Monitor {
    budgets: Vec<(Budget, u64)>,
    tokens: u64,
    answer: Option<String>,
}

impl Monitor {
    pub fn new(rules: &[RuleSpec]) -> Result<Self, PolicyError> {
        let mut budgets = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            rule.validate(&format!("rules[{i}]"))?;
            match rule {
                RuleSpec::Budget {
                    max_reasoning_tokens,
                    min_tokens,
                } => budgets.push((Budget::new(*max_reasoning_tokens), *min_tokens)),
            }
        }
        Ok(Self {
            budgets,
            tokens: 0,
            answer: None,
        })
    }

    /// Feeds one generated token's text.
    pub fn observe(&mut self, delta: &str) -> Verdict {
        self.observe_tokens(delta, 1)
    }

    /// Feeds a delta that holds `tokens` generated tokens.
    pub fn observe_tokens(&mut self, _delta: &str, tokens: u32) -> Verdict {
        self.tokens += u64::from(tokens);
        for (budget, min_tokens) in &self.budgets {
            if self.tokens < *min_tokens {
                continue;
            }
            if let Some(reason) = budget.check(self.tokens) {
                return Verdict::Brake(Brake {
                    rule: "budget",
                    reason,
                    answer: self.answer.clone(),
                    tokens: self.tokens,
                });
            }
        }
        Verdict::Continue
    }

    /// The latest candidate answer seen in the reasoning, as written.
    pub fn answer(&self) -> Option<&str> {
        self.answer.as_deref()
    }

    /// Reasoning tokens observed so far.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }
}
