//! Candidate-answer extraction from one completed segment (a sentence or a
//! line) of reasoning.
//!
//! The scanner hands over whole segments, so a `\boxed{` split across deltas
//! is already joined here; segments never end inside braces, so nested
//! `\boxed{\frac{1}{2}}` arrives whole.

use super::normalize::normalize;

/// How explicitly the reasoning committed to an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// A sentence ending `= X.`: often an intermediate result.
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
    if ans.is_empty() || ans.len() > MAX_STATED || ans.ends_with(" of") {
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
    let at = body.rfind('=')?;
    let rhs = body[at + 1..]
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

/// Content of the last complete `\boxed{...}` / `\fbox{...}` in `s`.
pub fn last_boxed(s: &str) -> Option<&str> {
    let mut found = None;
    for cmd in ["\\boxed", "\\fbox"] {
        let mut from = 0;
        while let Some(i) = s[from..].find(cmd) {
            let open = from + i + cmd.len();
            let rest = s[open..].trim_start();
            if rest.starts_with('{') {
                if let Some(inner) = balanced(rest) {
                    let start = s.len() - rest.len() + 1;
                    if found.is_none_or(|(at, _): (usize, &str)| at < start) {
                        found = Some((start, inner));
                    }
                }
            }
            from = open;
        }
    }
    found.map(|(_, inner)| inner)
}

/// Given text starting with `{`, the content up to the matching `}`.
pub fn balanced(s: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' => {
                escaped = !escaped;
                continue;
            }
            '{' if !escaped => depth += 1,
            '}' if !escaped => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&s[1..i]);
                }
            }
            _ => {}
        }
        escaped = false;
    }
    None
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
    }
}
