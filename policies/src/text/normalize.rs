//! Answer normalisation: two answers compare equal when a grader of
//! competition maths would accept one for the other.
//!
//! Considered equal (each line is one equivalence class):
//! - `\frac{1}{2}`, `\dfrac12`, `\tfrac{1}{2}`, `1/2`, `0.5`, `.5`, `2/4`
//!   (numbers are compared as exact reduced fractions);
//! - `66,200`, `66{,}200`, `66200`, `66 200` (digit-group separators);
//! - `\text{(B)}`, `(B)`, `B`, `\textbf{B}` (multiple-choice letters);
//! - `5\%`, `5%`, `5 percent`, `5`; `5^\circ`, `5^{\circ}`, `5°`, `5 degrees`;
//!   `\$5`, `$5`, `5 dollars`, `5 meters` (a number followed only by
//!   words is that number: units are dropped);
//! - `x = 5`, `x=5`, `5` (a single-variable left-hand side is dropped);
//! - `\left( 1, 2 \right)`, `(1,2)`; `\sqrt2`, `\sqrt{2}`; `$...$`, `\(...\)`,
//!   `\[...\]` delimiters and `\,`, `\!`, `\displaystyle` spacing are ignored.
//!
//! Not equal, on purpose: `0.333` and `1/3` (no rounding tolerance: an
//! approximation is not the exact answer); `\sqrt{8}` and `2\sqrt{2}`, `\pi/2`
//! and `1.5708` (no symbolic algebra); `(1,2)` and `(2,1)` or `{1,2}` (order
//! and bracket kind are kept); `x = 5` and `y = 5` only when the left-hand
//! side is more than one variable; letter case outside choice letters.

use super::latex::{expand_short_args, plain_roots, unwrap_commands};
use super::number::rational;

/// Canonical form of an answer; equal strings mean equal answers.
pub fn normalize(raw: &str) -> String {
    let mut s = strip_wrappers(raw.trim());
    s = unwrap_commands(&s);
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac");
    s = plain_roots(&s);
    s = expand_short_args(&s);
    s = drop_spacing(&s);
    s = drop_lhs(&s);
    s = drop_units(&s);
    let s = s
        .trim_matches(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .trim_end_matches('.');
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = choice_letter(&compact).unwrap_or(compact);
    match rational(&compact) {
        Some((n, 1)) => n.to_string(),
        Some((n, d)) => format!("{n}/{d}"),
        None => compact,
    }
}

/// Whether two answers as written are the same answer.
pub fn same_answer(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

fn strip_wrappers(s: &str) -> String {
    let mut s = s.to_string();
    for (open, close) in [
        ("$$", "$$"),
        ("$", "$"),
        ("\\(", "\\)"),
        ("\\[", "\\]"),
        ("**", "**"),
    ] {
        let t = s.trim();
        if t.len() >= open.len() + close.len() && t.starts_with(open) && t.ends_with(close) {
            s = t[open.len()..t.len() - close.len()].to_string();
        }
    }
    s.replace("\\$", "$")
        .replace("$", " ")
        .replace("\\left", "")
        .replace("\\right", "")
}

fn drop_spacing(s: &str) -> String {
    let mut s = s.to_string();
    for sp in [
        "\\displaystyle",
        "\\,",
        "\\!",
        "\\;",
        "\\:",
        "\\ ",
        "~",
        "{,}",
    ] {
        let with = if sp == "{,}" { "," } else { " " };
        s = s.replace(sp, with);
    }
    s
}

/// `x = 5` → `5`: a single letter (optionally subscripted) before the only
/// `=` is a name, not part of the answer.
fn drop_lhs(s: &str) -> String {
    let Some((lhs, rhs)) = s.split_once('=') else {
        return s.to_string();
    };
    if rhs.contains('=') {
        return s.to_string();
    }
    let lhs = lhs.trim();
    let mut chars = lhs.chars();
    let is_name = match chars.next() {
        Some(c) if c.is_alphabetic() => {
            let tail: String = chars.collect();
            tail.is_empty() || tail.starts_with('_')
        }
        _ => false,
    };
    if is_name {
        rhs.trim().to_string()
    } else {
        s.to_string()
    }
}

/// Drops degree and percent signs and trailing unit words after a number.
fn drop_units(s: &str) -> String {
    let mut s = s.trim().to_string();
    for unit in ["^\\circ", "^{\\circ}", "°", "\\%", "%", "\\degree"] {
        s = s.replace(unit, "");
    }
    let s = s.trim();
    // A number followed only by words ("45 miles", "10 percent").
    let num_end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '/' | ' ')))
        .map_or(s.len(), |(i, _)| i);
    let (num, rest) = s.split_at(num_end);
    if num.trim().chars().any(|c| c.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .split_whitespace()
            .all(|w| w.chars().all(|c| c.is_alphabetic() || c == '.'))
        && num.ends_with(' ')
    {
        return num.trim().to_string();
    }
    s.to_string()
}

/// `(B)`, `B`, `\text{(B)}` → `B` for a single letter A–E.
fn choice_letter(s: &str) -> Option<String> {
    let t = s.trim_start_matches('(').trim_end_matches(')');
    let mut cs = t.chars();
    let c = cs.next()?;
    (cs.next().is_none() && matches!(c.to_ascii_uppercase(), 'A'..='E') && s.len() <= 3)
        .then(|| c.to_ascii_uppercase().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_decimals_and_latex_agree() {
        for a in [
            "\\frac{1}{2}",
            "1/2",
            "0.5",
            "\\dfrac12",
            "\\tfrac{1}{2}",
            ".5",
            "2/4",
            "$\\frac{1}{2}$",
        ] {
            assert_eq!(normalize(a), "1/2", "{a}");
        }
    }

    #[test]
    fn choices_units_and_names_are_dropped() {
        assert!(same_answer("\\text{(B)}", "B"));
        assert!(same_answer("(B)", "B"));
        assert!(same_answer("5\\%", "5"));
        assert!(same_answer("x = 5", "5"));
        assert!(same_answer("\\$5", "5"));
        assert!(same_answer("5^\\circ", "5"));
        assert!(same_answer("45 miles", "45"));
        assert!(same_answer("66,200", "66200"));
        assert!(same_answer("\\sqrt2", "\\sqrt{2}"));
        assert!(same_answer("3*sqrt(13)", "3\\sqrt{13}"));
        assert!(same_answer("11√2", "11\\sqrt{2}"));
        assert!(same_answer("√(117)", "\\sqrt{117}"));
        assert!(!same_answer("2*3", "23"));
        assert!(same_answer("\\left( 1, 2 \\right)", "(1,2)"));
    }

    #[test]
    fn different_answers_stay_different() {
        assert!(!same_answer("0.333", "\\frac{1}{3}"));
        assert!(!same_answer("(1,2)", "(2,1)"));
        assert!(!same_answer("\\sqrt{8}", "2\\sqrt{2}"));
        assert!(!same_answer("12", "21"));
        assert!(!same_answer("-5", "5"));
        assert!(!same_answer("x + y = 5", "5"));
    }
}
