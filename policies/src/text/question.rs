//! What a question asks for, read once from its text before the reasoning
//! streams: the values it gives and whether it asks for several values.
//!
//! Both guard the brake against two ways text alone loses the answer:
//! - a value the question itself states ("a train travels 60 miles") is
//!   restated and computed with on the way, and concluding it is not
//!   answering;
//! - a question that asks for several values (an ordered pair, a list, all
//!   solutions, an interval) is answered by all of them together, so a lone
//!   scalar the reasoning settles on is one component, not the answer.

use super::normalize::normalize;

/// Phrases (lower case) by which a question asks for several values.
const SEVERAL: &[&str] = &[
    "ordered pair",
    "ordered triple",
    "ordered tuple",
    "separated by commas",
    "separate by commas",
    "separated by a comma",
    "interval notation",
    "find all ",
    "enter all ",
    "list all ",
    "what are all ",
    "all the solutions",
    "all solutions",
    "all possible values",
    "find the roots",
    "find the solutions",
    "in the form (",
    "in the form $(",
    "in the form \\((",
];

/// The question of one request, as far as braking needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Question {
    /// Normalised numbers the question states.
    given: Vec<String>,
    /// The question asks for several values.
    several: bool,
}

impl Question {
    /// Reads `text` once; O(length of the question).
    pub fn parse(text: &str) -> Self {
        let lower = text.to_lowercase();
        let several = SEVERAL.iter().any(|p| lower.contains(p));
        let mut given: Vec<String> = numbers(text).map(|n| normalize(&n)).collect();
        given.sort();
        given.dedup();
        Self { given, several }
    }

    /// Whether the question asks for several values.
    pub fn asks_several(&self) -> bool {
        self.several
    }

    /// Whether `normalized` is a number the question states.
    pub fn gives(&self, normalized: &str) -> bool {
        self.given
            .binary_search_by(|g| g.as_str().cmp(normalized))
            .is_ok()
    }

    /// Whether a candidate (normalised) can be this question's answer: not a
    /// value the question gives, and, when several values are asked for,
    /// several values (a lone scalar counts only when `complete`, e.g. boxed:
    /// the model's whole answer, say after rejecting an extraneous root).
    pub fn admits(&self, normalized: &str, complete: bool) -> bool {
        if self.gives(balanced_tail(normalized)) {
            return false;
        }
        !self.several || complete || is_several(normalized)
    }
}

/// `50)` → `50`: a closing bracket the candidate never opened is the end
/// of the surrounding text (`(x=40,y=50)`), not part of the value.
fn balanced_tail(n: &str) -> &str {
    let opens = n.matches(['(', '[']).count();
    let closes = n.matches([')', ']']).count();
    if closes > opens {
        n.trim_end_matches([')', ']'])
    } else {
        n
    }
}

/// A normalised answer that holds more than one value: a tuple, list or
/// interval (a top-level comma, or an interval's brackets).
fn is_several(normalized: &str) -> bool {
    let mut depth = 0i32;
    for c in normalized.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth <= 0 => return true,
            _ => {}
        }
    }
    normalized.contains("\\cup")
}

/// Number tokens of `text`: digits with `,` thousands groups and a decimal
/// part, not glued to letters (`x2`) and not exponents (`^2`), plus
/// `\frac{a}{b}` and `a/b` written with plain integers.
fn numbers(text: &str) -> impl Iterator<Item = String> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if b[i..].starts_with(b"\\frac{") || b[i..].starts_with(b"\\dfrac{") {
                let open = i + if b[i + 1] == b'd' { 6 } else { 5 };
                if let Some((num, den, end)) = frac_args(text, open) {
                    i = end;
                    return Some(format!("{num}/{den}"));
                }
            }
            let glued = i > 0
                && (b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'^' | b'_' | b'.'));
            if !b[i].is_ascii_digit() || glued {
                i += 1;
                continue;
            }
            let start = i;
            let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || (matches!(b[i], b'.' | b'/') && digit(i + 1))
                    || (b[i] == b',' && (1..=3).all(|k| digit(i + k)) && !digit(i + 4)))
            {
                i += 1;
            }
            // A number glued to letters (`2x`) is not a stated value; one
            // followed by `^` still is (`124^\circ`, the base of `2^{10}`).
            if b.get(i).is_some_and(u8::is_ascii_alphabetic) {
                continue;
            }
            return Some(text[start..i].to_string());
        }
        None
    })
}

/// `{a}{b}` at `open` with plain integer arguments: (a, b, end).
fn frac_args(text: &str, open: usize) -> Option<(&str, &str, usize)> {
    let rest = text.get(open..)?;
    let num_end = rest.find('}')?;
    let num = &rest[1..num_end];
    let rest2 = rest[num_end + 1..].strip_prefix('{')?;
    let den_end = rest2.find('}')?;
    let den = &rest2[..den_end];
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (plain(num) && plain(den)).then_some((num, den, open + num_end + 2 + den_end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_numbers_are_not_answers() {
        let q = Question::parse(
            "A train goes 1,200 miles in 3.5 hours at $124^\\circ$; \\frac{1}{2} of it is x^2 rail.",
        );
        assert!(q.gives("1200"));
        assert!(q.gives("7/2"));
        assert!(q.gives("1/2"));
        assert!(q.gives("124"), "a labelled angle is a given value");
        assert!(!q.gives("2"), "an exponent is not a given value");
        assert!(!q.admits("1200", true));
        assert!(
            !q.admits("1200)", false),
            "a stray closing bracket is not part of the value"
        );
        assert!(q.admits("343", false));
    }

    #[test]
    fn several_values_need_several_values() {
        let q = Question::parse("Enter your answer as an ordered pair.");
        assert!(q.asks_several());
        assert!(!q.admits("-2", false));
        assert!(q.admits("(-2,1)", false));
        assert!(
            q.admits("-2", true),
            "a boxed lone value is the whole answer"
        );
        let i = Question::parse("Express your answer in interval notation.");
        assert!(i.admits("(-\\infty,3]", false));
        let one = Question::parse("Find the smallest possible value of a.");
        assert!(!one.asks_several());
        assert!(one.admits("3", false));
    }
}
