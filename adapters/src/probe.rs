//! Probes: short side requests that ask the model what it would answer
//! now, given the reasoning so far and a suffix such as
//! `**Final Answer** \boxed{`.
//!
//! A [`Prober`] serves one client request: the templated conversation is
//! the same for every probe of that request, so a prober obtains it once
//! and keeps it. The backend hands one out with [`Backend::prober`]
//! (`None` where it cannot probe).
//!
//! [`Backend::prober`]: crate::Backend::prober
use async_trait::async_trait;

use crate::{AdapterError, Usage};

/// One probe: the reasoning to continue and what elicits the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeCall {
    /// Reasoning so far (the text inside the think block).
    pub reasoning: String,
    /// Appended after the reasoning.
    pub suffix: String,
    /// Generation limit (greedy).
    pub max_tokens: u32,
}

/// One generated token of a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeToken {
    pub text: String,
    /// Natural log-probability, where the backend reports it.
    pub logprob: Option<f64>,
}

/// What a probe generated and what it cost.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbeReply {
    /// The generated tokens, in order. A backend without per-token output
    /// gives its whole text as one token without a log-probability.
    pub tokens: Vec<ProbeToken>,
    /// As the backend billed it (prompt and completion tokens).
    pub usage: Option<Usage>,
}

/// Runs the probes of one client request. Dropping a probe's future
/// cancels its upstream request.
#[async_trait]
pub trait Prober: Send + Sync {
    async fn probe(&self, call: ProbeCall) -> Result<ProbeReply, AdapterError>;
}

/// The assistant turn a probe continues: the think block opened (unless
/// the templated prompt already opened it), the reasoning, the suffix.
pub fn probe_turn(templated: &str, call: &ProbeCall) -> String {
    let open = crate::format::OPEN_THINK;
    let opened = templated.trim_end().ends_with(open);
    let mut s = String::with_capacity(call.reasoning.len() + call.suffix.len() + 8);
    if !opened {
        s.push_str(open);
        s.push('\n');
    }
    s.push_str(&call.reasoning);
    s.push_str(&call.suffix);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_think_block_is_opened_once() {
        let call = ProbeCall {
            reasoning: "x = 4.".into(),
            suffix: " \\boxed{".into(),
            max_tokens: 8,
        };
        assert_eq!(
            probe_turn("<|user|>2+2?<|assistant|>", &call),
            "<think>\nx = 4. \\boxed{"
        );
        assert_eq!(
            probe_turn("<|user|>2+2?<|assistant|><think>\n", &call),
            "x = 4. \\boxed{"
        );
    }
}
