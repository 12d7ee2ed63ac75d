//! What the monitor asks of a probe and what it takes back.
//!
//! The monitor never runs a probe: it returns [`Verdict::Probe`] with a
//! [`ProbeRequest`], the caller (the proxy's session, or an offline
//! evaluation) runs the side request however its backend can, and hands
//! the outcome back through [`Monitor::probe_result`]. That keeps this
//! crate pure while the probe rule still owns the decision.
//!
//! [`Verdict::Probe`]: crate::Verdict::Probe
//! [`Monitor::probe_result`]: crate::Monitor::probe_result
use crate::text::{balanced, last_boxed};

/// Tokens a probe may generate: an answer in `\boxed{...}` fits in far
/// fewer; Dynasor asks for about 20.
pub const PROBE_MAX_TOKENS: u32 = 16;

/// Tokens and bytes of a probe's output that are read.
const READ_TOKENS: usize = 64;
const READ_BYTES: usize = 4096;

/// Words that make a probe's answer hedged: a model that writes "wait" or
/// "hmm" inside its supposed final answer has not settled (Dynasor drops
/// such answers the same way).
const HEDGES: &[&str] = &[
    "wait", "hmm", "but", "maybe", "perhaps", "not sure", "check", "verify", "however", "let me",
    "unsure", "?",
];

/// A side request the monitor wants: "with the reasoning up to
/// `upto_chars`, followed by `suffix`, what would you answer?".
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRequest {
    /// `confirm`, `periodic` or `markers`: why the probe was asked.
    pub trigger: &'static str,
    /// A short explanation, for logs.
    pub reason: String,
    /// Characters of reasoning the probe's prompt holds: the position the
    /// question is about (for `markers`, the end of the step before the
    /// hesitation), however the text was split into deltas.
    pub upto_chars: u64,
    /// Appended to the reasoning to make the model state its answer.
    pub suffix: String,
    /// Generation limit of the probe.
    pub max_tokens: u32,
}

impl ProbeRequest {
    /// The byte length of `reasoning` that holds its first `upto_chars`
    /// characters (all of it when shorter).
    pub fn cut(&self, reasoning: &str) -> usize {
        reasoning
            .char_indices()
            .nth(usize::try_from(self.upto_chars).unwrap_or(usize::MAX))
            .map_or(reasoning.len(), |(i, _)| i)
    }
}

/// One generated token of a probe, with its log-probability where the
/// backend reports one.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeToken {
    pub text: String,
    pub logprob: Option<f64>,
}

/// What the probe generated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbeAnswer {
    pub tokens: Vec<ProbeToken>,
}

/// How a probe went.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    Answer(ProbeAnswer),
    /// The side request failed (timeout, upstream error): no evidence either
    /// way.
    Failed,
    /// The backend cannot probe at all: the probe rule steps aside.
    Unsupported,
}

/// A probe's answer, read from its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadAnswer {
    /// The answer as written (inside the box), if the probe closed one.
    pub answer: Option<String>,
    /// Mean probability of the tokens up to the one that closed the
    /// answer, where every one of them has a log-probability.
    pub confidence: Option<f64>,
    /// The probe's text holds a hedging word.
    pub hedged: bool,
}

impl ProbeAnswer {
    /// The generated text.
    pub fn text(&self) -> String {
        self.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    /// Reads the answer a probe gave after `suffix`. A suffix that ends in
    /// an open `\boxed{` leaves the answer to be closed by the probe; one
    /// that ends in `\boxed` leaves the brace too; any other suffix takes
    /// the probe's first line. An answer left open (the token limit came
    /// first) is no answer.
    pub fn read(&self, suffix: &str) -> ReadAnswer {
        let tail = &suffix[suffix.rfind("\\boxed").unwrap_or(suffix.len())..];
        let mut text = String::new();
        let mut closed_at = None;
        // An upstream may send more than was asked: only the first tokens
        // (and bytes) are read, so the work stays bounded.
        for (i, t) in self.tokens.iter().take(READ_TOKENS).enumerate() {
            if text.len() + t.text.len() > READ_BYTES {
                break;
            }
            text.push_str(&t.text);
            if closed_at.is_none() && closes(tail, &text) {
                closed_at = Some(i);
            }
        }
        let answer = match closed_at {
            None => None,
            Some(_) if tail.is_empty() => text.lines().next().map(str::to_string),
            Some(_) => last_boxed(&format!("{tail}{text}")).map(str::to_string),
        };
        let answer = answer
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty());
        let scored = &self.tokens[..closed_at.map_or(0, |i| i + 1)];
        // A value above 0 (or not a number) is no log-probability: an
        // engine that sends one has told nothing about confidence.
        let probability = |t: &ProbeToken| t.logprob.filter(|p| *p <= 0.0).map(f64::exp);
        let confidence = (!scored.is_empty())
            .then(|| scored.iter().map(probability).sum::<Option<f64>>())
            .flatten()
            .map(|sum| sum / scored.len() as f64);
        let lower = text.to_lowercase();
        let hedged = HEDGES.iter().any(|h| contains_word(&lower, h));
        ReadAnswer {
            answer,
            confidence,
            hedged,
        }
    }
}

/// Whether `text`, generated after `tail` (the suffix from its last
/// `\boxed`), has closed the answer.
fn closes(tail: &str, text: &str) -> bool {
    if tail.is_empty() {
        return text.contains('\n') && !text.trim().is_empty();
    }
    let joined = format!("{tail}{text}");
    let rest = joined["\\boxed".len()..].trim_start();
    rest.starts_with('{') && balanced(rest).is_some()
}

/// `needle` in `haystack` on word boundaries (punctuation needles anywhere).
fn contains_word(haystack: &str, needle: &str) -> bool {
    if !needle.starts_with(char::is_alphanumeric) {
        return haystack.contains(needle);
    }
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DYNASOR: &str = "... **Final Answer**\n\n\\[ \\boxed{";

    fn answer(parts: &[(&str, Option<f64>)]) -> ProbeAnswer {
        ProbeAnswer {
            tokens: parts
                .iter()
                .map(|(t, p)| ProbeToken {
                    text: t.to_string(),
                    logprob: p.map(f64::ln),
                })
                .collect(),
        }
    }

    #[test]
    fn the_answer_is_read_up_to_the_brace_that_closes_it() {
        let a = answer(&[
            ("\\frac{1", Some(0.9)),
            ("}{2", Some(0.8)),
            ("}}", Some(1.0)),
            (" \\]", Some(0.1)),
        ]);
        let r = a.read(DYNASOR);
        assert_eq!(r.answer.as_deref(), Some("\\frac{1}{2}"));
        let mean = (0.9 + 0.8 + 1.0) / 3.0;
        assert!((r.confidence.unwrap() - mean).abs() < 1e-9, "{r:?}");
        assert!(!r.hedged);
    }

    #[test]
    fn an_unclosed_or_hedged_answer_does_not_count() {
        let open = answer(&[("4", Some(0.9)), ("2 + ", Some(0.9))]).read(DYNASOR);
        assert_eq!(open.answer, None);
        assert_eq!(open.confidence, None);
        let hedged = answer(&[("42} Wait", None)]).read(DYNASOR);
        assert_eq!(hedged.answer.as_deref(), Some("42"));
        assert!(hedged.hedged);
        assert_eq!(hedged.confidence, None, "no logprobs, no confidence");
        assert!(!answer(&[("42} Butter", None)]).read(DYNASOR).hedged);
    }

    #[test]
    fn values_that_are_no_log_probabilities_give_no_confidence() {
        let mut a = answer(&[("4", Some(0.9))]);
        a.tokens.push(ProbeToken {
            text: "}".into(),
            logprob: Some(1.46),
        });
        assert_eq!(a.read(DYNASOR).confidence, None);
        a.tokens[1].logprob = Some(f64::NAN);
        assert_eq!(a.read(DYNASOR).confidence, None);
    }

    #[test]
    fn deer_suffix_leaves_the_brace_to_the_model() {
        let r = answer(&[("{", Some(1.0)), ("7", Some(0.5)), ("}", Some(1.0))])
            .read("\n**Final Answer**\n\\boxed");
        assert_eq!(r.answer.as_deref(), Some("7"));
        assert!((r.confidence.unwrap() - 2.5 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_plain_suffix_takes_the_first_line() {
        let r = answer(&[(" 12", None), ("\nSo", None)]).read("The answer is");
        assert_eq!(r.answer.as_deref(), Some("12"));
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        let req = ProbeRequest {
            trigger: "periodic",
            reason: String::new(),
            upto_chars: 2,
            suffix: String::new(),
            max_tokens: 4,
        };
        assert_eq!(req.cut("é∑xyz"), "é∑".len());
        assert_eq!(req.cut("a"), 1);
    }
}
