use serde::Serialize;

/// Aggregate figures of one policy over a trace set. Fractions are over all
/// traces unless said otherwise; token figures use [`super::approx_tokens`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub traces: usize,
    pub braked_fraction: f64,
    pub reasoning_tokens_full: u64,
    pub reasoning_tokens_kept: u64,
    /// 1 − kept / full.
    pub saved_fraction: f64,
    /// Saved by cutting right after the first step where the trace's final
    /// answer is stated.
    pub oracle_saved_fraction: f64,
    /// Traces whose own final answer is stated in the kept reasoning
    /// (unbraked traces count as reached).
    pub answer_reached: f64,
    /// Traces where the monitor's answer at the cut equals the final answer
    /// (unbraked traces count as preserved).
    pub answer_preserved: f64,
    /// Over traces with a gold answer; `None` when none has one.
    pub accuracy_full: Option<f64>,
    /// A braked trace is correct only if its final answer is correct and was
    /// reached before the cut.
    pub accuracy_braked: Option<f64>,
    /// Braked before any candidate answer appeared.
    pub premature_fraction: f64,
    /// Stricter than `answer_reached`: the final answer was kept as a
    /// candidate answer (`\boxed{X}`, "the answer is X", "= X."), not only
    /// as a bare token (unbraked traces count).
    pub answer_stated: f64,
    /// The oracle with that stricter notion: cut after the first step that
    /// states the final answer as a candidate.
    pub oracle_stated_saved_fraction: f64,
}

/// What happened to one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceRow {
    pub id: String,
    pub braked: bool,
    pub rule: Option<String>,
    /// Length in chars of the kept reasoning.
    pub cut_char: u64,
    pub kept_tokens: u64,
    pub full_tokens: u64,
    pub answer_at_cut: Option<String>,
    /// The final answer appears in the kept reasoning (or no brake).
    pub reached: bool,
    /// The final answer is stated as a candidate in the kept reasoning.
    pub answer_stated: bool,
    /// Tokens the oracle keeps.
    pub oracle_tokens: u64,
}

impl Report {
    /// A human-readable two-column table.
    pub fn table(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        let opt = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), pct);
        let rows = [
            ("traces", self.traces.to_string()),
            ("braked", pct(self.braked_fraction)),
            (
                "reasoning tokens (full)",
                self.reasoning_tokens_full.to_string(),
            ),
            (
                "reasoning tokens (kept)",
                self.reasoning_tokens_kept.to_string(),
            ),
            ("saved", pct(self.saved_fraction)),
            ("saved by oracle cut", pct(self.oracle_saved_fraction)),
            (
                "saved by oracle (stated)",
                pct(self.oracle_stated_saved_fraction),
            ),
            ("answer reached", pct(self.answer_reached)),
            ("answer stated", pct(self.answer_stated)),
            ("answer preserved", pct(self.answer_preserved)),
            ("accuracy (full)", opt(self.accuracy_full)),
            ("accuracy (braked)", opt(self.accuracy_braked)),
            ("premature brakes", pct(self.premature_fraction)),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            out.push_str(&format!("{k:<width$}  {v:>10}\n"));
        }
        out
    }
}
