//! The text the mock upstream streams: synthetic reasoning, or reasoning read
//! from a trace file (never committed here; the path is given by flag).
//!
//! Synthetic sentences carry numbers but no `=`, no "answer" and no boxed
//! expression, so the convergence rule finds no candidate answer and never
//! fires: a run through selfbrake measures the monitor working, not braking.

use std::path::Path;

use crate::BenchError;

/// One generation: reasoning tokens, then answer tokens.
#[derive(Debug, Clone)]
pub struct Trace {
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
pub fn synthetic(n: usize) -> Trace {
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
    Trace {
        reasoning,
        answer: tokens(ANSWER),
    }
}

/// Reasoning of every record of a trace JSONL file (`reasoning` and
/// `final` keys), each cut to at most `max_tokens` reasoning tokens.
pub fn from_jsonl(path: &Path, max_tokens: usize) -> Result<Vec<Trace>, BenchError> {
    let text = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let reasoning = v["reasoning"].as_str().unwrap_or_default();
        let mut reasoning = tokens(reasoning);
        reasoning.truncate(max_tokens);
        let answer = match v["final"].as_str() {
            Some(f) if !f.is_empty() => tokens(&format!("The answer is {f}.")),
            _ => tokens(ANSWER),
        };
        if !reasoning.is_empty() {
            out.push(Trace { reasoning, answer });
        }
    }
    if out.is_empty() {
        return Err(BenchError::Other(format!(
            "no reasoning in {}",
            path.display()
        )));
    }
    Ok(out)
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
