//! Why a brake lost a trace's final answer: the class of miss tells which
//! signal text alone lacked, so a policy change can aim at the class that
//! blocks the savings rather than at single traces.

use serde::Serialize;

use crate::text::normalize;

/// The class of a lost answer (a braked trace whose final answer was not
/// reached before the cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Miss {
    /// The monitor's answer at the cut is the final answer, or differs from
    /// it only in how it is written (`\dfrac` vs `/`, brackets, spacing):
    /// the answer was there, the extractor or normaliser did not see it.
    Extraction,
    /// The final answer holds several values and the brake came on one of
    /// them (the first component of a pair, one root of several).
    Partial,
    /// A rule braked on hesitation alone (`markers`, `overthink`) or on a
    /// cap (`budget`, `repetition`), with no concluded value behind it.
    Hesitation,
    /// A value concluded on the way (a sub-result, a value later computed
    /// with, an answer later revised) was taken for the answer.
    Intermediate,
    /// The trace never states a final answer (a run cut at its limit), so
    /// any brake loses it.
    NoFinal,
}

impl Miss {
    /// Every class, in report order.
    pub const ALL: [Miss; 5] = [
        Miss::Intermediate,
        Miss::Partial,
        Miss::Hesitation,
        Miss::Extraction,
        Miss::NoFinal,
    ];

    /// The snake_case name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Miss::Extraction => "extraction",
            Miss::Partial => "partial",
            Miss::Hesitation => "hesitation",
            Miss::Intermediate => "intermediate",
            Miss::NoFinal => "no_final",
        }
    }
}

/// Classifies a lost answer from the rule that braked, the answer the
/// monitor held at the cut and the trace's final answer.
pub fn classify(rule: &str, at_cut: Option<&str>, final_answer: Option<&str>) -> Miss {
    let Some(fin) = final_answer.filter(|f| !f.trim().is_empty()) else {
        return Miss::NoFinal;
    };
    let fin_n = normalize(fin);
    if let Some(a) = at_cut {
        let a_n = normalize(a);
        if a_n == fin_n || loose(&a_n) == loose(&fin_n) {
            return Miss::Extraction;
        }
    }
    if matches!(rule, "markers" | "overthink" | "budget" | "repetition") {
        return Miss::Hesitation;
    }
    // The final holds several values and the brake held fewer of them.
    let wanted = components(&fin_n).len();
    let held = at_cut.map_or(0, |a| components(&normalize(a)).len());
    if wanted > 1 && held < wanted {
        return Miss::Partial;
    }
    Miss::Intermediate
}

/// The top-level comma-separated parts of a normalised answer, brackets
/// stripped: `(3,\frac{\pi}{2})` → `3`, `\frac{\pi}{2}`.
fn components(n: &str) -> Vec<String> {
    let inner = n.trim_matches(|c| matches!(c, '(' | ')' | '[' | ']' | '\\' | '{' | '}'));
    let mut parts = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in inner.chars() {
        match c {
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts.retain(|p| !p.is_empty());
    parts
}

/// Only letters, digits and a few operators: what is left when every way of
/// writing brackets, fractions and spacing is ignored.
fn loose(n: &str) -> String {
    n.replace("\\dfrac", "\\frac")
        .replace("\\frac", "")
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '+' | '/' | '.' | ','))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            classify("convergence", Some("5"), Some("18")),
            Miss::Intermediate
        );
        assert_eq!(classify("markers", Some("5"), Some("18")), Miss::Hesitation);
        assert_eq!(classify("markers", None, Some("18")), Miss::Hesitation);
        assert_eq!(
            classify("convergence", Some("-2"), Some("(-2, 1)")),
            Miss::Partial
        );
        assert_eq!(
            classify("convergence", Some("\\dfrac{1}{2}"), Some("1/2")),
            Miss::Extraction
        );
        assert_eq!(
            classify(
                "convergence",
                Some("(3,\\frac{\\pi}{2})"),
                Some("\\left( 3, \\frac{\\pi}{2} \\right)")
            ),
            Miss::Extraction
        );
        assert_eq!(classify("convergence", Some("5"), None), Miss::NoFinal);
        assert_eq!(classify("convergence", Some("5"), Some(" ")), Miss::NoFinal);
        assert_eq!(
            classify("convergence", Some("3"), Some("3, 5, 7")),
            Miss::Partial
        );
        assert_eq!(
            classify("convergence", Some("3"), Some("2")),
            Miss::Intermediate,
            "a lone final is not several values"
        );
    }
}
