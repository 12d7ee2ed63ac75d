use super::{Ctx, Detector};

/// Stops reasoning that exceeds a token budget: the s1 / Qwen3 hard cap.
#[derive(Debug, Clone)]
pub struct Budget {
    max_reasoning_tokens: u64,
}

impl Budget {
    pub fn new(max_reasoning_tokens: u64) -> Self {
        Self {
            max_reasoning_tokens,
        }
    }

    /// Returns a reason when `tokens` reached the budget.
    pub fn check(&self, tokens: u64) -> Option<String> {
        (tokens >= self.max_reasoning_tokens).then(|| {
            format!(
                "reasoning reached the budget of {} tokens",
                self.max_reasoning_tokens
            )
        })
    }
}

impl Detector for Budget {
    fn on_tokens(&mut self, _tokens: u32, ctx: &Ctx) -> Option<String> {
        self.check(ctx.tokens)
    }
}
