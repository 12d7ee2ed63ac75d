use serde::Serialize;

use super::miss::Miss;

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

/// What happened to one trace: everything a [`Report`] over any subset of
/// traces (a fold, a source, the short ones) is aggregated from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceRow {
    pub id: String,
    pub source: String,
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
    /// The monitor's answer at the cut equals the final (or no brake).
    pub preserved: bool,
    /// Braked before any candidate answer appeared.
    pub premature: bool,
    /// Tokens the oracle keeps.
    pub oracle_tokens: u64,
    /// Tokens the stricter (stated) oracle keeps.
    pub oracle_stated_tokens: u64,
    /// Whether the unbraked final answer matches `gold`; `None` without gold.
    pub correct_full: Option<bool>,
    /// Why the final answer was lost, when it was (braked, not reached).
    pub miss: Option<Miss>,
}

impl Report {
    /// Aggregates rows (any subset of one evaluation). Token sums are over
    /// all rows, so long traces weigh more; fractions are over rows.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a TraceRow>) -> Self {
        let (mut n, mut full, mut kept, mut oracle, mut oracle_st) =
            (0usize, 0u64, 0u64, 0u64, 0u64);
        let (mut braked, mut reached, mut stated, mut preserved, mut premature) = (0, 0, 0, 0, 0);
        let (mut graded, mut ok_full, mut ok_braked) = (0usize, 0usize, 0usize);
        for r in rows {
            n += 1;
            full += r.full_tokens;
            kept += r.kept_tokens;
            oracle += r.oracle_tokens;
            oracle_st += r.oracle_stated_tokens;
            braked += usize::from(r.braked);
            reached += usize::from(r.reached);
            stated += usize::from(r.answer_stated);
            preserved += usize::from(r.preserved);
            premature += usize::from(r.premature);
            if let Some(ok) = r.correct_full {
                graded += 1;
                ok_full += usize::from(ok);
                ok_braked += usize::from(ok && r.reached);
            }
        }
        let per = |a: usize| a as f64 / n.max(1) as f64;
        let saved = |part: u64| {
            if full == 0 {
                0.0
            } else {
                1.0 - (part as f64 / full as f64).min(1.0)
            }
        };
        let graded_frac = |a: usize| (graded > 0).then(|| a as f64 / graded as f64);
        Report {
            traces: n,
            braked_fraction: per(braked),
            reasoning_tokens_full: full,
            reasoning_tokens_kept: kept,
            saved_fraction: saved(kept),
            oracle_saved_fraction: saved(oracle),
            answer_reached: per(reached),
            answer_preserved: per(preserved),
            accuracy_full: graded_frac(ok_full),
            accuracy_braked: graded_frac(ok_braked),
            premature_fraction: per(premature),
            answer_stated: per(stated),
            oracle_stated_saved_fraction: saved(oracle_st),
        }
    }

    /// Accuracy points lost by braking (`accuracy_full − accuracy_braked`,
    /// ×100); 0 without gold answers.
    pub fn accuracy_loss_points(&self) -> f64 {
        match (self.accuracy_full, self.accuracy_braked) {
            (Some(f), Some(b)) => 100.0 * (f - b),
            _ => 0.0,
        }
    }

    /// Saved fraction as a share of what the oracle saves (1 when the oracle
    /// saves nothing).
    pub fn of_oracle(&self) -> f64 {
        if self.oracle_saved_fraction <= 0.0 {
            1.0
        } else {
            self.saved_fraction / self.oracle_saved_fraction
        }
    }

    /// The unweighted mean of each figure over `reports` (folds): each fold
    /// counts once, whatever its size. Token sums are summed.
    pub fn mean(reports: &[Report]) -> Report {
        let k = reports.len().max(1) as f64;
        let avg = |f: fn(&Report) -> f64| reports.iter().map(f).sum::<f64>() / k;
        let avg_opt = |f: fn(&Report) -> Option<f64>| {
            let v: Vec<f64> = reports.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        Report {
            traces: reports.iter().map(|r| r.traces).sum(),
            braked_fraction: avg(|r| r.braked_fraction),
            reasoning_tokens_full: reports.iter().map(|r| r.reasoning_tokens_full).sum(),
            reasoning_tokens_kept: reports.iter().map(|r| r.reasoning_tokens_kept).sum(),
            saved_fraction: avg(|r| r.saved_fraction),
            oracle_saved_fraction: avg(|r| r.oracle_saved_fraction),
            answer_reached: avg(|r| r.answer_reached),
            answer_preserved: avg(|r| r.answer_preserved),
            accuracy_full: avg_opt(|r| r.accuracy_full),
            accuracy_braked: avg_opt(|r| r.accuracy_braked),
            premature_fraction: avg(|r| r.premature_fraction),
            answer_stated: avg(|r| r.answer_stated),
            oracle_stated_saved_fraction: avg(|r| r.oracle_stated_saved_fraction),
        }
    }
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
