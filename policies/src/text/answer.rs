//! Candidate-answer extraction from one completed segment (a sentence or a
//! line) of reasoning.
//!
//! The scanner hands over whole segments, so a `\boxed{` split across deltas
//! is already joined here; segments never end inside braces, so nested
//! `\boxed{\frac{1}{2}}` arrives whole.

use serde::{Deserialize, Serialize};

use super::braces::last_boxed;
use super::normalize::normalize;

/// How explicitly the reasoning committed to an answer, weakest first. Also
/// the `form` a rule asks for in the config (`"equation"`, `"stated"`,
/// `"boxed"`): the least explicit answer it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// A sentence ending `= X.` or "is X.": often an intermediate result.
    Equation,
    /// "the answer is X", "**Final Answer** X".
    Stated,
    /// `\boxed{X}`.
    Boxed,
}

/// An answer found in the reasoning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// As written (inside the box, after "answer is", ...).
    pub raw: String,
    /// [`normalize`]d form, for comparisons.
    pub normalized: String,
    pub strength: Strength,
}

/// Longest answer text kept from an "answer is" or "= X" sentence; longer
/// text is prose, not an answer.
const MAX_STATED: usize = 80;
const MAX_EQUATION: usize = 24;

/// Extracts candidates segment by segment; remembers a "**Final Answer**"
/// heading whose answer is on the next line.
#[derive(Debug, Clone, Default)]
pub struct AnswerExtractor {
    expect_final: bool,
}

impl AnswerExtractor {
    /// The strongest candidate in `segment`, if any.
    pub fn segment(&mut self, segment: &str) -> Option<Candidate> {
        let seg = segment.trim();
        if seg.is_empty() {
            return None;
        }
        let expected = std::mem::take(&mut self.expect_final);
        if let Some(raw) = last_boxed(seg) {
            return make(raw, Strength::Boxed);
        }
        let mentions_answer = find_ascii_ci(seg, "answer").is_some();
        if !mentions_answer && !expected {
            return equation(seg);
        }
        if let Some(at) = find_ascii_ci(seg, "final answer") {
            let rest = seg[at + "final answer".len()..].trim_start_matches(|c: char| {
                c == '*' || c == ':' || c == '#' || c.is_whitespace()
            });
            if rest.is_empty() {
                self.expect_final = true;
                return None;
            }
            return stated(rest);
        }
        if expected {
            return stated(seg);
        }
        for phrase in [
            "answer is",
            "answer should be",
            "answer would be",
            "answer must be",
        ] {
            if let Some(at) = rfind_ascii_ci(seg, phrase) {
                let rest = seg[at + phrase.len()..].trim_start_matches([':', ' ']);
                if let Some(c) = stated(rest) {
                    return Some(c);
                }
            }
        }
        equation(seg)
    }
}

fn make(raw: &str, strength: Strength) -> Option<Candidate> {
    let raw = raw.trim();
    let normalized = normalize(raw);
    (!normalized.is_empty()).then(|| Candidate {
        raw: raw.to_string(),
        normalized,
        strength,
    })
}

/// The answer after "answer is": up to the end of the clause.
fn stated(rest: &str) -> Option<Candidate> {
    let rest = rest
        .trim_start_matches(|c: char| c.is_whitespace() || c == '*')
        .trim_start_matches("probably ")
        .trim_start_matches("indeed ");
    let end = clause_end(rest);
    let ans = rest[..end]
        .trim()
        .trim_end_matches(['.', '*', ' ', '!', '?', ':'])
        .trim();
    let math = ans.contains(|c: char| c.is_ascii_digit() || c == '\\' || c == '$');
    if ans.is_empty()
        || ans.len() > MAX_STATED
        || ans.ends_with(" of")
        || (!math && ans.split_whitespace().count() > 3)
    {
        return None;
    }
    make(ans, Strength::Stated)
}

/// Ends a stated answer at ", " / "; " / " because" and similar, outside
/// braces and math delimiters.
fn clause_end(s: &str) -> usize {
    let mut depth = 0i32;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b',' | b';' if depth <= 0 && bytes.get(i + 1) == Some(&b' ') => {
                // "66, 200" is not a thousands group; "5, so" ends the clause.
                return i;
            }
            b' ' if depth <= 0 => {
                let tail = &s[i + 1..];
                for w in [
                    "because", "since", "which", "but", "so ", "and ", "or ", "as ", "for ",
                ] {
                    if tail.starts_with(w) {
                        return i;
                    }
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// `... = X.`: a short right-hand side that ends the sentence.
fn equation(seg: &str) -> Option<Candidate> {
    let body = seg.strip_suffix('.')?;
    let at = rhs_start(body)?;
    let rhs = body[at..]
        .trim()
        .trim_end_matches(['$', ' '])
        .trim_end_matches("\\)")
        .trim();
    if rhs.is_empty() || rhs.len() > MAX_EQUATION || rhs.split_whitespace().count() > 3 {
        return None;
    }
    if !rhs.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    make(rhs, Strength::Equation)
}

/// Where the right-hand side of the last `=` (or a verb of equality:
/// "is", "equals", "gives", "get") starts.
fn rhs_start(body: &str) -> Option<usize> {
    let eq = body.rfind('=').map(|i| i + 1);
    let verb = [" is ", " equals ", " gives ", " get ", " be "]
        .iter()
        .filter_map(|v| body.rfind(v).map(|i| i + v.len()))
        .max();
    eq.max(verb)
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn rfind_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Option<(String, Strength)> {
        AnswerExtractor::default()
            .segment(s)
            .map(|c| (c.raw, c.strength))
    }

    #[test]
    fn boxed_with_nested_braces() {
        assert_eq!(
            one("So it is \\boxed{\\frac{1}{2}} here."),
            Some(("\\frac{1}{2}".into(), Strength::Boxed))
        );
        assert_eq!(one("\\boxed{1} then \\boxed{2}").unwrap().0, "2");
        assert_eq!(one("\\boxed{unclosed"), None);
    }

    #[test]
    fn stated_answers() {
        assert_eq!(one("So the answer is 45 miles.").unwrap().0, "45 miles");
        assert_eq!(
            one("The answer should be 10, since it fits.").unwrap().0,
            "10"
        );
        let mut ex = AnswerExtractor::default();
        assert_eq!(ex.segment("**Final Answer**"), None);
        assert_eq!(ex.segment("The total is \\boxed{540}.").unwrap().raw, "540");
        assert_eq!(one("**Final Answer** 12").unwrap().0, "12");
    }

    #[test]
    fn equation_at_sentence_end_only() {
        assert_eq!(
            one("So 9 x 60 = 540.").unwrap(),
            ("540".into(), Strength::Equation)
        );
        assert_eq!(one("So 9 x 60 = 540 and more"), None);
        assert_eq!(one("Then x = y."), None);
        assert_eq!(one("So 9 x 60 is 540.").unwrap().0, "540");
        assert_eq!(one("The total is 540 meters.").unwrap().0, "540 meters");
    }
}

/// Numbers used as operands in `segment` ("117 + 126", "9 times 60"),
/// reported in the canonical integer/decimal form [`normalize`] gives plain
/// numbers. A value that is computed with is an intermediate result, not
/// the answer. Does not allocate unless an operand is found.
pub fn operands(segment: &str, mut found: impl FnMut(&str)) {
    let b = segment.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len()
            && (b[i].is_ascii_digit()
                || ((b[i] == b',' || b[i] == b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
        if i < b.len() && b[i].is_ascii_alphabetic() && !is_op_word(&segment[i..]) {
            continue;
        }
        if is_operator_after(&segment[i..]) || is_operator_before(&segment[..start]) {
            let num = &segment[start..i];
            if num.contains([',', '.']) {
                let mut s: String = num.chars().filter(|&c| c != ',').collect();
                if s.contains('.') {
                    while s.ends_with('0') {
                        s.pop();
                    }
                    if s.ends_with('.') {
                        s.pop();
                    }
                }
                found(&s);
            } else {
                found(num.trim_start_matches('0'));
            }
        }
    }
}

fn is_op_word(s: &str) -> bool {
    ["times", "x ", "divided", "multiplied", "plus", "minus"]
        .iter()
        .any(|w| s.starts_with(w))
}

fn is_operator_after(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '$']);
    t.starts_with(['+', '-', '*', '/', '×', '÷', '−'])
        || t.starts_with("\\times")
        || t.starts_with("\\cdot")
        || t.starts_with("\\div")
        || is_op_word(t)
}

fn is_operator_before(s: &str) -> bool {
    let t = s.trim_end_matches([' ', '$', '(']);
    t.ends_with(['+', '*', '/', '×', '÷'])
        || t.ends_with("\\times")
        || t.ends_with("\\cdot")
        || t.ends_with(" times")
        || t.ends_with(" x")
        || t.ends_with(" by")
        || t.ends_with(" plus")
        || t.ends_with(" minus")
        || t.ends_with(" of")
}

#[cfg(test)]
mod operand_tests {
    use super::operands;

    fn all(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        operands(s, |n| v.push(n.to_string()));
        v
    }

    #[test]
    fn operands_are_numbers_computed_with() {
        assert_eq!(all("Then 117 + 126 = 243."), ["117", "126"]);
        assert_eq!(all("9 times 60 is 540."), ["9", "60"]);
        assert_eq!(all("So the answer is 45 miles."), Vec::<String>::new());
        assert_eq!(all("1,150 x 50 = 57,500"), ["1150", "50"]);
    }
}
