//! Held-out folds: figures measured on traces a choice was not made on.
//!
//! Two splits. By question: every trace of the same question text lands in
//! the same fold (several models answer the same MATH500 problems; a
//! question seen in tuning is not held out). By source: each source (model ×
//! benchmark) is held out in turn, the question "does it carry to a model
//! it was never tuned on".

use serde::Serialize;

use super::{Report, Trace, TraceRow};

/// One held-out fold: a name and the indices of its traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub name: String,
    pub held_out: Vec<usize>,
}

/// A fold's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldReport {
    pub fold: String,
    #[serde(flatten)]
    pub report: Report,
}

impl Fold {
    /// Whether trace `i` is held out by this fold.
    pub fn holds(&self, i: usize) -> bool {
        self.held_out.binary_search(&i).is_ok()
    }

    /// The report over this fold's rows (`rows` indexed like the traces).
    pub fn report(&self, rows: &[TraceRow]) -> FoldReport {
        FoldReport {
            fold: self.name.clone(),
            report: Report::from_rows(self.held_out.iter().map(|&i| &rows[i])),
        }
    }

    /// The report over every row outside this fold: the training folds.
    pub fn training_report(&self, rows: &[TraceRow]) -> Report {
        Report::from_rows(
            rows.iter()
                .enumerate()
                .filter(|(i, _)| !self.holds(*i))
                .map(|(_, r)| r),
        )
    }
}

/// `k` folds by question text: the distinct questions, ordered by a fixed
/// hash of their text (deterministic, independent of file order), are dealt
/// round-robin, so folds have about the same number of questions and no
/// question is split.
pub fn question_folds(traces: &[Trace], k: usize) -> Vec<Fold> {
    let k = k.max(1);
    let mut questions: Vec<(u64, &str)> = traces
        .iter()
        .map(|t| (fnv1a(&t.question), t.question.as_str()))
        .collect();
    questions.sort_unstable();
    questions.dedup();
    let fold_of = |q: &str| {
        let at = questions
            .binary_search(&(fnv1a(q), q))
            .expect("every question was listed");
        at % k
    };
    let mut folds: Vec<Fold> = (0..k)
        .map(|f| Fold {
            name: format!("question fold {}/{k}", f + 1),
            held_out: Vec::new(),
        })
        .collect();
    for (i, t) in traces.iter().enumerate() {
        folds[fold_of(&t.question)].held_out.push(i);
    }
    folds.retain(|f| !f.held_out.is_empty());
    folds
}

/// One fold per source (leave one source out), sorted by source name.
pub fn source_folds(traces: &[Trace]) -> Vec<Fold> {
    let mut names: Vec<&str> = traces.iter().map(|t| t.source.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|n| Fold {
            name: format!("source {n}"),
            held_out: (0..traces.len())
                .filter(|&i| traces[i].source == n)
                .collect(),
        })
        .collect()
}

/// FNV-1a: a hash fixed across platforms and releases (std's is not).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(id: &str, source: &str, question: &str) -> Trace {
        Trace {
            id: id.into(),
            source: source.into(),
            question: question.into(),
            reasoning: String::new(),
            answer: String::new(),
            final_answer: None,
            gold: None,
        }
    }

    #[test]
    fn a_question_never_straddles_folds_and_every_trace_is_held_out_once() {
        let traces: Vec<Trace> = (0..40)
            .map(|i| {
                trace(
                    &i.to_string(),
                    ["a", "b", "c"][i % 3],
                    &format!("q{}", i % 13),
                )
            })
            .collect();
        let folds = question_folds(&traces, 5);
        assert_eq!(folds.len(), 5);
        let mut seen = vec![0; traces.len()];
        for f in &folds {
            for &i in &f.held_out {
                seen[i] += 1;
                for (j, other) in traces.iter().enumerate() {
                    if other.question == traces[i].question {
                        assert!(f.holds(j), "question {} split", other.question);
                    }
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        let sizes: Vec<usize> = folds.iter().map(|f| f.held_out.len()).collect();
        assert!(sizes.iter().all(|&s| (6..=12).contains(&s)), "{sizes:?}");
        let by_source = source_folds(&traces);
        assert_eq!(by_source.len(), 3);
        assert!(by_source[0]
            .held_out
            .iter()
            .all(|&i| traces[i].source == "a"));
    }
}
