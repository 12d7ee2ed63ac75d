//! Offline evaluation: replays recorded traces through a policy, token by
//! token, and measures what the cut would have saved and lost.
mod appears;
mod report;
mod tokens;
mod trace;

pub use appears::{bare_occurrences, Bare};
pub use report::{Report, TraceRow};
pub use tokens::approx_tokens;
pub use trace::{dev_traces_path, parse_traces, Trace};

use crate::text::{normalize, same_answer, Event, Scanner};
use crate::{Monitor, PolicyError, RuleSpec, Verdict};

/// The report and the per-trace rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub report: Report,
    pub rows: Vec<TraceRow>,
}

/// Where a trace first states its own final answer.
struct Landmarks {
    /// Chars up to the end of the first candidate equal to the final answer.
    first_final: Option<u64>,
    /// Chars up to the end of the step holding it.
    first_final_step_end: Option<u64>,
    /// Chars up to the end of the first candidate of any kind.
    first_candidate: Option<u64>,
    /// Chars up to where the final answer first appears (candidate or bare).
    first_appears: Option<u64>,
    /// Chars up to the end of the step holding that appearance.
    first_appears_step_end: Option<u64>,
}

fn landmarks(reasoning: &str, question: &str, final_answer: Option<&str>) -> Landmarks {
    let target = final_answer.map(normalize);
    let mut scanner = Scanner::new();
    let mut lm = Landmarks {
        first_final: None,
        first_final_step_end: None,
        first_candidate: None,
        first_appears: None,
        first_appears_step_end: None,
    };
    let mut pos = 0u64;
    let mut last_nonblank = 0u64;
    let emit = |ev: Event<'_>, pos: u64, last_nonblank: u64, lm: &mut Landmarks| match ev {
        Event::Candidate(c) => {
            lm.first_candidate.get_or_insert(pos);
            if lm.first_final.is_none() && target.as_deref() == Some(c.normalized.as_str()) {
                lm.first_final = Some(pos);
            }
        }
        Event::Step(_) if lm.first_final.is_some() && lm.first_final_step_end.is_none() => {
            lm.first_final_step_end = Some(last_nonblank);
        }
        _ => {}
    };
    for c in reasoning.chars() {
        pos += 1;
        scanner.push(c, &mut |ev| emit(ev, pos, last_nonblank, &mut lm));
        if !c.is_whitespace() {
            last_nonblank = pos;
        }
    }
    scanner.finish(&mut |ev| emit(ev, pos, last_nonblank, &mut lm));
    if lm.first_final.is_some() && lm.first_final_step_end.is_none() {
        lm.first_final_step_end = Some(pos);
    }
    let bare = final_answer.and_then(|f| first_bare(reasoning, question, f));
    lm.first_appears = match (lm.first_final, bare) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    lm.first_appears_step_end = lm.first_appears.map(|p| step_end_after(reasoning, p));
    lm
}

/// The first bare appearance of `f` that counts: any, when the question does
/// not hold the value; otherwise only where it is produced (after `=` or a
/// verb of result), since a mere mention may restate a given.
fn first_bare(reasoning: &str, question: &str, f: &str) -> Option<u64> {
    let in_question = !bare_occurrences(question, f).is_empty();
    bare_occurrences(reasoning, f)
        .into_iter()
        .find(|b| !in_question || b.produced)
        .map(|b| b.end)
}

/// Chars up to the end of the step (the last non-blank char before a blank
/// line) holding char offset `pos`.
fn step_end_after(text: &str, pos: u64) -> u64 {
    let mut last_nonblank = 0u64;
    let mut line_blank = false;
    let mut newline_seen = false;
    for (i, c) in text.chars().enumerate() {
        let i = i as u64;
        if c == '\n' {
            if newline_seen && line_blank && i >= pos {
                return last_nonblank;
            }
            newline_seen = true;
            line_blank = true;
        } else if !c.is_whitespace() {
            line_blank = false;
            newline_seen = false;
            last_nonblank = i + 1;
        }
    }
    last_nonblank.max(pos)
}

/// Tokens in the first `chars` chars of `text`, rounding a cut inside a token up.
fn tokens_within(text: &str, chars: u64) -> u64 {
    let mut seen = 0u64;
    let mut n = 0u64;
    for piece in approx_tokens(text) {
        if seen >= chars {
            break;
        }
        seen += piece.chars().count() as u64;
        n += 1;
    }
    n
}

/// Replays every trace through a fresh monitor built from `rules`;
/// `progress(done, total)` is called after each trace.
pub fn evaluate(
    traces: &[Trace],
    rules: &[RuleSpec],
    mut progress: impl FnMut(usize, usize),
) -> Result<Evaluation, PolicyError> {
    Monitor::new(rules)?;
    let mut rows = Vec::with_capacity(traces.len());
    let (mut full_sum, mut kept_sum, mut oracle_sum, mut oracle_stated_sum) = (0u64, 0, 0, 0);
    let mut stated = 0usize;
    let (mut braked, mut reached, mut preserved, mut premature) = (0usize, 0usize, 0usize, 0usize);
    let (mut graded, mut correct_full, mut correct_braked) = (0usize, 0usize, 0usize);
    for (i, t) in traces.iter().enumerate() {
        let mut monitor = Monitor::new(rules)?;
        let (mut kept, mut chars, mut brake) = (0u64, 0u64, None);
        for piece in approx_tokens(&t.reasoning) {
            kept += 1;
            chars += piece.chars().count() as u64;
            if let Verdict::Brake(b) = monitor.observe(piece) {
                brake = Some(b);
                break;
            }
        }
        let full = approx_tokens(&t.reasoning).count() as u64;
        let lm = landmarks(&t.reasoning, &t.question, t.final_answer.as_deref());
        let oracle = lm
            .first_appears_step_end
            .map_or(full, |c| tokens_within(&t.reasoning, c));
        let oracle_stated = lm
            .first_final_step_end
            .map_or(full, |c| tokens_within(&t.reasoning, c));
        let answer_at_cut = brake
            .as_ref()
            .and_then(|b| b.answer.clone())
            .or_else(|| monitor.answer().map(str::to_string));
        let is_reached = brake.is_none() || lm.first_appears.is_some_and(|p| p <= chars);
        let is_stated = brake.is_none() || lm.first_final.is_some_and(|p| p <= chars);
        let is_preserved = brake.is_none()
            || matches!((&answer_at_cut, &t.final_answer), (Some(a), Some(f)) if same_answer(a, f));
        if brake.is_some() {
            braked += 1;
            if lm.first_candidate.is_none_or(|p| p > chars) {
                premature += 1;
            }
        }
        reached += usize::from(is_reached);
        stated += usize::from(is_stated);
        preserved += usize::from(is_preserved);
        if let Some(gold) = &t.gold {
            graded += 1;
            let ok = t
                .final_answer
                .as_deref()
                .is_some_and(|f| same_answer(f, gold));
            correct_full += usize::from(ok);
            correct_braked += usize::from(ok && is_reached);
        }
        full_sum += full;
        kept_sum += kept;
        oracle_sum += oracle;
        oracle_stated_sum += oracle_stated;
        rows.push(TraceRow {
            id: t.id.clone(),
            braked: brake.is_some(),
            rule: brake.as_ref().map(|b| b.rule.to_string()),
            cut_char: chars,
            kept_tokens: kept,
            full_tokens: full,
            answer_at_cut,
            reached: is_reached,
            answer_stated: is_stated,
            oracle_tokens: oracle,
        });
        progress(i + 1, traces.len());
    }
    let n = traces.len().max(1) as f64;
    let frac = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let report = Report {
        traces: traces.len(),
        braked_fraction: braked as f64 / n,
        reasoning_tokens_full: full_sum,
        reasoning_tokens_kept: kept_sum,
        saved_fraction: 1.0 - frac(kept_sum, full_sum).min(1.0),
        oracle_saved_fraction: 1.0 - frac(oracle_sum, full_sum).min(1.0),
        answer_reached: reached as f64 / n,
        answer_preserved: preserved as f64 / n,
        accuracy_full: (graded > 0).then(|| correct_full as f64 / graded as f64),
        accuracy_braked: (graded > 0).then(|| correct_braked as f64 / graded as f64),
        premature_fraction: premature as f64 / n,
        answer_stated: stated as f64 / n,
        oracle_stated_saved_fraction: 1.0 - frac(oracle_stated_sum, full_sum).min(1.0),
    };
    Ok(Evaluation { report, rows })
}
