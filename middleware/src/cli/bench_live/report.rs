//! What `bench-live` reports: a row per question, a summary, a table.
use std::fmt::Write;

use serde::Serialize;

use super::Question;

/// One run of one question.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub reasoning_tokens: u64,
    pub completion_tokens: u64,
    /// The reply's last `\boxed{}` (else its last line).
    pub answer: Option<String>,
    /// Against `gold`, with the policies crate's normaliser; `None` without gold.
    pub correct: Option<bool>,
    pub latency_ms: f64,
    pub braked: bool,
    pub rule: Option<String>,
    pub probes: u64,
    pub probe_tokens: u64,
    /// The request failed (then the figures above are zero).
    pub error: Option<String>,
}

impl Side {
    pub fn failed(error: String, latency_ms: f64) -> Side {
        Side {
            reasoning_tokens: 0,
            completion_tokens: 0,
            answer: None,
            correct: None,
            latency_ms,
            braked: false,
            rule: None,
            probes: 0,
            probe_tokens: 0,
            error: Some(error),
        }
    }
}

/// One question, both ways.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub gold: Option<String>,
    pub unbraked: Side,
    pub braked: Side,
    /// Reasoning tokens the brake saved (negative: it cost more).
    pub saved_tokens: i64,
}

impl Row {
    pub fn new(q: &Question, unbraked: Side, braked: Side) -> Row {
        let saved_tokens = unbraked.reasoning_tokens as i64 - braked.reasoning_tokens as i64;
        Row {
            id: q.id.clone(),
            gold: q.gold.clone(),
            unbraked,
            braked,
            saved_tokens,
        }
    }

    fn ok(&self) -> bool {
        self.unbraked.error.is_none() && self.braked.error.is_none()
    }
}

/// The totals (`--json` prints this object).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub policy: String,
    pub questions: usize,
    /// Questions where either run failed; left out of every figure below.
    pub errors: usize,
    pub reasoning_tokens_unbraked: u64,
    pub reasoning_tokens_braked: u64,
    pub saved_fraction: f64,
    pub braked_fraction: f64,
    /// Over the questions with gold answers; `null` when none has one.
    pub accuracy_unbraked: Option<f64>,
    pub accuracy_braked: Option<f64>,
    pub latency_ms_unbraked_mean: f64,
    pub latency_ms_braked_mean: f64,
    pub probes: u64,
    pub probe_tokens: u64,
}

impl Summary {
    pub fn from_rows(policy: &str, rows: &[Row]) -> Summary {
        let ok: Vec<&Row> = rows.iter().filter(|r| r.ok()).collect();
        let n = ok.len().max(1) as f64;
        let sum = |f: &dyn Fn(&Row) -> u64| ok.iter().map(|r| f(r)).sum::<u64>();
        let unbraked = sum(&|r| r.unbraked.reasoning_tokens);
        let braked = sum(&|r| r.braked.reasoning_tokens);
        let graded: Vec<&&Row> = ok.iter().filter(|r| r.gold.is_some()).collect();
        let accuracy = |f: &dyn Fn(&Row) -> Option<bool>| {
            (!graded.is_empty()).then(|| {
                graded.iter().filter(|r| f(r) == Some(true)).count() as f64 / graded.len() as f64
            })
        };
        let mean = |f: &dyn Fn(&Row) -> f64| ok.iter().map(|r| f(r)).sum::<f64>() / n;
        Summary {
            policy: policy.to_string(),
            questions: rows.len(),
            errors: rows.len() - ok.len(),
            reasoning_tokens_unbraked: unbraked,
            reasoning_tokens_braked: braked,
            saved_fraction: if unbraked == 0 {
                0.0
            } else {
                1.0 - braked as f64 / unbraked as f64
            },
            braked_fraction: ok.iter().filter(|r| r.braked.braked).count() as f64 / n,
            accuracy_unbraked: accuracy(&|r| r.unbraked.correct),
            accuracy_braked: accuracy(&|r| r.braked.correct),
            latency_ms_unbraked_mean: mean(&|r| r.unbraked.latency_ms),
            latency_ms_braked_mean: mean(&|r| r.braked.latency_ms),
            probes: sum(&|r| r.braked.probes),
            probe_tokens: sum(&|r| r.braked.probe_tokens),
        }
    }
}

fn mark(correct: Option<bool>) -> &'static str {
    match correct {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// The per-question table and the totals, for a terminal.
pub fn table(rows: &[Row], s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>9} {:>9} {:>7} {:>5} {:>5} {:>9} {:>9} {:>6} {:>7}  rule",
        "id",
        "tok.full",
        "tok.brk",
        "saved",
        "ok.f",
        "ok.b",
        "ms.full",
        "ms.brk",
        "probes",
        "p.tok"
    );
    for r in rows {
        if let Some(e) = r.unbraked.error.as_ref().or(r.braked.error.as_ref()) {
            let _ = writeln!(out, "{:<16} error: {e}", r.id);
            continue;
        }
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>9} {:>7} {:>5} {:>5} {:>9.0} {:>9.0} {:>6} {:>7}  {}",
            r.id,
            r.unbraked.reasoning_tokens,
            r.braked.reasoning_tokens,
            r.saved_tokens,
            mark(r.unbraked.correct),
            mark(r.braked.correct),
            r.unbraked.latency_ms,
            r.braked.latency_ms,
            r.braked.probes,
            r.braked.probe_tokens,
            r.braked.rule.as_deref().unwrap_or("-"),
        );
    }
    let _ = writeln!(
        out,
        "\npolicy {}: {} questions ({} failed), reasoning tokens {} -> {} ({:.1}% saved), \
         braked {:.0}%, accuracy {} -> {}, mean latency {:.0} -> {:.0} ms, {} probes ({} tokens)",
        s.policy,
        s.questions,
        s.errors,
        s.reasoning_tokens_unbraked,
        s.reasoning_tokens_braked,
        100.0 * s.saved_fraction,
        100.0 * s.braked_fraction,
        pct(s.accuracy_unbraked),
        pct(s.accuracy_braked),
        s.latency_ms_unbraked_mean,
        s.latency_ms_braked_mean,
        s.probes,
        s.probe_tokens,
    );
    out
}
