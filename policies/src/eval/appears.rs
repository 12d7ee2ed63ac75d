//! Where a trace's final answer first *appears* as a bare token: the value
//! written anywhere in the reasoning, not only as a candidate answer
//! (`\boxed{X}`, "the answer is X", "= X."). Offline only (it scans the
//! whole text), used by the evaluation.
//!
//! - A numeric final (one that normalises to an integer, decimal or
//!   fraction) appears where a number token in the text normalises to the
//!   same value. A number token is a maximal run of digits with `,`/`{,}`
//!   thousands groups, a decimal part and an optional `/denominator`, at word
//!   boundaries: not glued to letters (`2x`), not an exponent or subscript
//!   (`x^2`, `52_8`), not followed by `^`. A `-` directly before it, not
//!   after a letter, digit or closing bracket, makes it negative.
//! - Any other final appears where its compact form (whitespace, `$`,
//!   `\left`/`\right` removed, `\dfrac`/`\tfrac` read as `\frac`) occurs in
//!   the compact text with no letter or digit on either side.

use crate::text::normalize;

/// A bare occurrence of the final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bare {
    /// Chars up to the end of the occurrence.
    pub end: u64,
    /// Whether it directly follows `=`, `≈` or a verb of result ("is",
    /// "equals", "gives", "get(s)", "makes", "be", "was", "to"): the value
    /// produced by a computation or conclusion, not merely mentioned.
    pub produced: bool,
}

/// Every bare occurrence of `final_answer` in `text`, in order.
pub fn bare_occurrences(text: &str, final_answer: &str) -> Vec<Bare> {
    let target = normalize(final_answer);
    if target.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = text.chars().collect();
    if is_rational(&target) {
        numeric(&chars, &target)
    } else {
        compact_search(&chars, final_answer)
    }
}

fn is_rational(n: &str) -> bool {
    let body = n.strip_prefix('-').unwrap_or(n);
    let mut parts = body.splitn(2, '/');
    let whole = parts.next().unwrap_or("");
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_digit() || c == '.')
            && s.chars().any(|c| c.is_ascii_digit())
    };
    ok(whole) && parts.next().is_none_or(ok)
}

fn numeric(chars: &[char], target: &str) -> Vec<Bare> {
    let mut out = Vec::new();
    let n = chars.len();
    let mut i = 0;
    while i < n {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        if !chars[i].is_ascii_digit()
            || prev.is_alphanumeric()
            || matches!(prev, '.' | '^' | '_' | '/' | '\\')
        {
            i += 1;
            continue;
        }
        let start = i;
        let mut tok = String::new();
        let mut j = i;
        let digits =
            |j: usize, k: usize| (j..j + k).all(|x| chars.get(x).is_some_and(char::is_ascii_digit));
        let take_digits = |j: &mut usize, tok: &mut String| {
            while *j < n && chars[*j].is_ascii_digit() {
                tok.push(chars[*j]);
                *j += 1;
            }
        };
        loop {
            take_digits(&mut j, &mut tok);
            if chars.get(j) == Some(&',') && digits(j + 1, 3) && !digits(j + 4, 1) {
                j += 1;
                continue;
            }
            if chars.get(j) == Some(&'{')
                && chars.get(j + 1) == Some(&',')
                && chars.get(j + 2) == Some(&'}')
                && digits(j + 3, 3)
            {
                j += 3;
                continue;
            }
            break;
        }
        // A decimal part, then a denominator: `1.5`, `3/4`, `1.5/2`.
        for sep in ['.', '/'] {
            if chars.get(j) == Some(&sep) && digits(j + 1, 1) {
                tok.push(sep);
                j += 1;
                take_digits(&mut j, &mut tok);
            }
        }
        i = j;
        let next = chars.get(j).copied().unwrap_or(' ');
        if next.is_alphanumeric() || matches!(next, '^' | '_') {
            continue;
        }
        if start > 0 && matches!(chars[start - 1], '-' | '−') {
            let before = chars[..start - 1].iter().rev().find(|c| !c.is_whitespace());
            if before.is_none_or(|&c| !(c.is_alphanumeric() || matches!(c, ')' | '}' | ']'))) {
                tok.insert(0, '-');
            }
        }
        if normalize(&tok) == target {
            out.push(Bare {
                end: j as u64,
                produced: produced(&chars[..start]),
            });
        }
    }
    out
}

/// Whether the text before a token ends with `=` or a verb of result.
fn produced(before: &[char]) -> bool {
    let tail: String = before[before.len().saturating_sub(12)..].iter().collect();
    let t = tail
        .trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, '$' | '-' | '−' | '{' | '(' | '\\' | '*')
        })
        .trim_end_matches("\\boxed")
        .to_ascii_lowercase();
    t.ends_with('=')
        || t.ends_with('≈')
        || t.ends_with("approx")
        || [
            " is", " equals", " gives", " get", " gets", " makes", " be", " was", " to", " are",
        ]
        .iter()
        .any(|w| t.ends_with(w))
}

/// Compact form: chars with their end offsets in the original text and
/// whether whitespace (or `$`) was dropped just before them.
fn compact(chars: &[char]) -> Vec<(char, u64, bool)> {
    let mut out: Vec<(char, u64, bool)> = Vec::with_capacity(chars.len());
    let mut gap = false;
    let mut i = 0;
    let at = |i: usize, w: &str| {
        w.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        if at(i, "\\left") && !chars.get(i + 5).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 5;
            continue;
        }
        if at(i, "\\right") && !chars.get(i + 6).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 6;
            continue;
        }
        if at(i, "\\dfrac") || at(i, "\\tfrac") {
            for c in "\\frac".chars() {
                out.push((c, i as u64 + 6, std::mem::take(&mut gap)));
            }
            i += 6;
            continue;
        }
        let c = chars[i];
        i += 1;
        if c.is_whitespace() || c == '$' {
            gap = true;
        } else {
            out.push((c, i as u64, std::mem::take(&mut gap)));
        }
    }
    out
}

fn compact_search(chars: &[char], final_answer: &str) -> Vec<Bare> {
    let needle: Vec<char> = compact(&final_answer.chars().collect::<Vec<_>>())
        .into_iter()
        .map(|(c, _, _)| c)
        .collect();
    let hay = compact(chars);
    let mut out = Vec::new();
    if needle.is_empty() || needle.len() > hay.len() {
        return out;
    }
    for s in 0..=hay.len() - needle.len() {
        if !(0..needle.len()).all(|k| hay[s + k].0 == needle[k]) {
            continue;
        }
        let before = s.checked_sub(1).filter(|_| !hay[s].2).map(|p| hay[p].0);
        let after = hay.get(s + needle.len()).filter(|p| !p.2).map(|p| p.0);
        let glued = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        if glued(after) || (glued(before) && needle[0].is_alphanumeric()) || before == Some('\\') {
            continue;
        }
        let end = hay[s + needle.len() - 1].1;
        let start = if s == 0 { 0 } else { hay[s - 1].1 as usize };
        out.push(Bare {
            end,
            produced: produced(&chars[..start.min(chars.len())]),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(text: &str, f: &str) -> Vec<u64> {
        bare_occurrences(text, f).iter().map(|b| b.end).collect()
    }

    #[test]
    fn numbers_at_word_boundaries() {
        assert_eq!(ends("He runs 540 meters.", "540"), [11]);
        assert_eq!(ends("x^2 and 2x and 12 and 2.5", "2"), Vec::<u64>::new());
        assert_eq!(ends("that is 57,500 total", "57500"), [14]);
        assert_eq!(ends("so 0.5 of it", "\\frac{1}{2}"), [6]);
        assert_eq!(ends("then 5 - 50 and = -50", "-50"), [21]);
        assert_eq!(ends("base 52_8 and 52", "52_8"), [9]);
    }

    #[test]
    fn expressions_compact() {
        assert_eq!(
            ends(
                "so $\\left( 3, \\dfrac{\\pi}{2} \\right)$ ok",
                "(3, \\frac{\\pi}{2})"
            )
            .len(),
            1
        );
        assert_eq!(ends("3\\sqrt{13} vs 33\\sqrt{13}", "3\\sqrt{13}").len(), 1);
    }

    #[test]
    fn produced_after_equals_or_result_verb() {
        let b = bare_occurrences("9 x 60 = 540 and he runs 540 m", "540");
        assert_eq!(
            b.iter().map(|b| b.produced).collect::<Vec<_>>(),
            [true, false]
        );
    }
}
