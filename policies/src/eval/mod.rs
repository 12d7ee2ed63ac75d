//! Offline evaluation: replays recorded traces through a policy, token by
//! token, and measures what the cut would have saved and lost.
mod appears;
mod folds;
mod miss;
mod report;
mod tokens;
mod trace;

pub use appears::{bare_occurrences, Bare};
pub use folds::{question_folds, source_folds, Fold, FoldReport};
pub use miss::{classify, Miss};
pub use report::{Report, TraceRow};
pub use tokens::approx_tokens;
pub use trace::{parse_traces, Trace};

use crate::text::{normalize, same_answer, Event, Scanner};
use crate::{Monitor, PolicyError, ProbeOutcome, RuleSpec, Verdict};

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

/// Replays every trace through a fresh monitor built from `rules` and told
/// the trace's question; `progress(done, total)` is called after each trace.
pub fn evaluate(
    traces: &[Trace],
    rules: &[RuleSpec],
    mut progress: impl FnMut(usize, usize),
) -> Result<Evaluation, PolicyError> {
    Monitor::new(rules)?;
    let mut rows = Vec::with_capacity(traces.len());
    for (i, t) in traces.iter().enumerate() {
        rows.push(replay(t, rules)?);
        progress(i + 1, traces.len());
    }
    Ok(Evaluation {
        report: Report::from_rows(&rows),
        rows,
    })
}

/// One trace through a fresh monitor: where it braked and what that cost.
fn replay(t: &Trace, rules: &[RuleSpec]) -> Result<TraceRow, PolicyError> {
    let mut monitor = Monitor::new(rules)?.with_question(&t.question);
    let (mut kept, mut chars, mut full, mut brake) = (0u64, 0u64, 0u64, None);
    for piece in approx_tokens(&t.reasoning) {
        full += 1;
        if brake.is_some() {
            continue;
        }
        kept += 1;
        chars += piece.chars().count() as u64;
        let verdict = match monitor.observe(piece) {
            // Offline there is no model to ask: the policy runs as if it
            // had no probe rule.
            Verdict::Probe(_) => monitor.probe_result(&ProbeOutcome::Unsupported),
            v => v,
        };
        if let Verdict::Brake(b) = verdict {
            brake = Some(b);
        }
    }
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
    let braked = brake.is_some();
    let reached = !braked || lm.first_appears.is_some_and(|p| p <= chars);
    let rule = brake.as_ref().map(|b| b.rule.to_string());
    let miss = (!reached).then(|| {
        classify(
            rule.as_deref().unwrap_or_default(),
            answer_at_cut.as_deref(),
            t.final_answer.as_deref(),
        )
    });
    Ok(TraceRow {
        id: t.id.clone(),
        source: t.source.clone(),
        braked,
        rule,
        cut_char: chars,
        kept_tokens: kept,
        full_tokens: full,
        reached,
        answer_stated: !braked || lm.first_final.is_some_and(|p| p <= chars),
        preserved: !braked
            || matches!((&answer_at_cut, &t.final_answer), (Some(a), Some(f)) if same_answer(a, f)),
        premature: braked && lm.first_candidate.is_none_or(|p| p > chars),
        answer_at_cut,
        oracle_tokens: oracle,
        oracle_stated_tokens: oracle_stated,
        correct_full: t.gold.as_ref().map(|gold| {
            t.final_answer
                .as_deref()
                .is_some_and(|f| same_answer(f, gold))
        }),
        miss,
    })
}
