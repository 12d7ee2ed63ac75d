//! The text the mock upstream streams: synthetic reasoning, or the reasoning
//! of recorded traces (the policies crate's [`Trace`], read from a JSONL
//! file given by flag).
//!
//! Synthetic sentences carry numbers but no `=`, no "answer" and no boxed
//! expression, so the convergence rule finds no candidate answer and never
//! fires: a run through selfbrake measures the monitor working, not braking.

use std::path::Path;

use selfbrake_policies::eval::{parse_traces, Trace};

use crate::BenchError;

/// One generation as the mock streams it: reasoning tokens, then answer
/// tokens.
#[derive(Debug, Clone)]
pub struct Generation {
    pub reasoning: Vec<String>,
    pub answer: Vec<String>,
}

/// What the model "says" after `</think>` and in a continuation.
pub const ANSWER: &str = "The total is 42 apples.";

/// Splits text into word tokens, each with its leading whitespace, the way
/// a BPE tokenizer roughly cuts English.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_ws = true;
    for c in text.chars() {
        let ws = c.is_whitespace();
        if ws && !prev_ws && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
        prev_ws = ws;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `n` reasoning tokens of synthetic sentences with varying numbers (no
/// sentence repeats, so the repetition rule has nothing to find either).
pub fn synthetic(n: usize) -> Generation {
    let mut reasoning = Vec::with_capacity(n);
    let mut i: u64 = 0;
    while reasoning.len() < n {
        let a = 7 + i * 13 % 89;
        let b = 3 + i * 7 % 31;
        let s = format!(
            " Step {i}: we take {a} apples from crate {b} and move them to shelf {}, then we count the rows again.",
            (a * b) % 97
        );
        for t in tokens(&s) {
            if reasoning.len() < n {
                reasoning.push(t);
            }
        }
        i += 1;
    }
    Generation {
        reasoning,
        answer: tokens(ANSWER),
    }
}

/// The generation of every trace of a trace JSONL file, each cut to at most
/// `max_tokens` reasoning tokens.
pub fn from_jsonl(path: &Path, max_tokens: usize) -> Result<Vec<Generation>, BenchError> {
    let text = std::fs::read_to_string(path)?;
    let traces =
        parse_traces(&text).map_err(|e| BenchError::Other(format!("{}: {e}", path.display())))?;
    let out: Vec<Generation> = traces
        .iter()
        .filter_map(|t| generation(t, max_tokens))
        .collect();
    if out.is_empty() {
        return Err(BenchError::Other(format!(
            "no reasoning in {}",
            path.display()
        )));
    }
    Ok(out)
}

/// A trace's reasoning as tokens (at most `max_tokens`) and its final answer
/// as the answer text; `None` when it has no reasoning.
fn generation(t: &Trace, max_tokens: usize) -> Option<Generation> {
    let mut reasoning = tokens(&t.reasoning);
    reasoning.truncate(max_tokens);
    let answer = match t.final_answer.as_deref() {
        Some(f) if !f.is_empty() => tokens(&format!("The answer is {f}.")),
        _ => tokens(ANSWER),
    };
    (!reasoning.is_empty()).then_some(Generation { reasoning, answer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_leading_space() {
        assert_eq!(tokens(" a bc  d"), vec![" a", " bc", "  d"]);
    }

    #[test]
    fn synthetic_has_n_tokens_and_no_answer_cues() {
        let t = synthetic(500);
        assert_eq!(t.reasoning.len(), 500);
        let text: String = t.reasoning.concat();
        assert!(!text.contains('=') && !text.contains("answer"));
    }
}
