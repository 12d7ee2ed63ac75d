use serde::Deserialize;

use crate::PolicyError;

/// One recorded reasoning trace (a line of the trace JSONL).
#[derive(Debug, Clone, Deserialize)]
pub struct Trace {
    pub id: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub question: String,
    /// The text inside `<think>`.
    pub reasoning: String,
    #[serde(default)]
    pub answer: String,
    /// The model's own final answer; `None` for a run cut before answering.
    #[serde(rename = "final")]
    pub final_answer: Option<String>,
    /// The benchmark's reference answer, where known.
    pub gold: Option<String>,
}

/// Parses trace JSONL; blank lines are skipped, and an error names its line.
pub fn parse_traces(jsonl: &str) -> Result<Vec<Trace>, PolicyError> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| PolicyError::InvalidTrace {
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}
