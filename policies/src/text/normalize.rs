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

/// `\text{..}`, `\textbf{..}`, `\mathrm{..}`, `\mbox{..}`, `\boxed{..}` are
/// replaced by their argument.
fn unwrap_commands(s: &str) -> String {
    let mut out = s.to_string();
    for cmd in [
        "\\text", "\\textbf", "\\mathrm", "\\mathbf", "\\mbox", "\\boxed", "\\textit",
    ] {
        while let Some(at) = find_command(&out, cmd) {
            let open = at + cmd.len();
            let rest = &out[open..];
            let skip = rest.len() - rest.trim_start().len();
            if !rest.trim_start().starts_with('{') {
                // A bare command without an argument: drop the name.
                out.replace_range(at..open, " ");
                continue;
            }
            let arg_start = open + skip;
            match super::braces::balanced(&out[arg_start..]) {
                Some(inner) => {
                    let inner = inner.to_string();
                    let end = arg_start + inner.len() + 2;
                    out.replace_range(at..end, &inner);
                }
                None => break,
            }
        }
    }
    out
}

/// Finds `cmd` not followed by another letter (so `\text` does not match
/// `\textbf`).
fn find_command(s: &str, cmd: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(cmd) {
        let at = from + i;
        let next = s[at + cmd.len()..].chars().next();
        if !next.is_some_and(|c| c.is_ascii_alphabetic()) {
            return Some(at);
        }
        from = at + cmd.len();
    }
    None
}

/// `√2`, `√(13)`, `sqrt(13)` as `\\sqrt{..}`; a product sign between a
/// number and a root (`3*sqrt(13)`, `3 \\cdot \\sqrt{13}`) is dropped.
fn plain_roots(s: &str) -> String {
    if !s.contains('√') && !s.contains("sqrt(") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    loop {
        let at = [rest.find('√'), rest.find("sqrt(")]
            .into_iter()
            .flatten()
            .min();
        let Some(i) = at else {
            out.push_str(rest);
            break;
        };
        let (head, tail) = rest.split_at(i);
        let head = head.strip_suffix('\\').unwrap_or(head);
        let trimmed = head.trim_end();
        let trimmed = ["*", "\\cdot", "\\times", "·", "×"]
            .iter()
            .find_map(|op| trimmed.strip_suffix(op))
            .filter(|h| h.trim_end().ends_with(|c: char| c.is_ascii_digit()))
            .map_or(head, str::trim_end);
        out.push_str(trimmed);
        out.push_str("\\sqrt");
        let tail = tail.strip_prefix('√').unwrap_or_else(|| &tail[4..]);
        if let Some(inner) = tail.strip_prefix('(') {
            let mut depth = 1;
            let end = inner.char_indices().find_map(|(k, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                (depth == 0).then_some(k)
            });
            match end {
                Some(k) => {
                    out.push('{');
                    out.push_str(&inner[..k]);
                    out.push('}');
                    rest = &inner[k + 1..];
                }
                None => rest = tail,
            }
        } else {
            let k = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            if k > 0 {
                out.push('{');
                out.push_str(&tail[..k]);
                out.push('}');
            }
            rest = &tail[k..];
        }
    }
    out
}

/// `\frac12` → `\frac{1}{2}`, `\sqrt2` → `\sqrt{2}`.
fn expand_short_args(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (cmd, args) = if rest.starts_with("\\frac")
            && !rest[5..].starts_with(|c: char| c.is_ascii_alphabetic())
        {
            ("\\frac", 2)
        } else if rest.starts_with("\\sqrt") {
            ("\\sqrt", 1)
        } else {
            out.push('\\');
            rest = &rest[1..];
            continue;
        };
        out.push_str(cmd);
        rest = &rest[cmd.len()..];
        for _ in 0..args {
            let t = rest.trim_start();
            match t.chars().next() {
                Some('{') => match super::braces::balanced(t) {
                    Some(inner) => {
                        out.push('{');
                        out.push_str(inner);
                        out.push('}');
                        rest = &t[inner.len() + 2..];
                    }
                    None => break,
                },
                Some(c) if c.is_ascii_alphanumeric() => {
                    out.push('{');
                    out.push(c);
                    out.push('}');
                    rest = &t[1..];
                }
                _ => break,
            }
        }
    }
    out.push_str(rest);
    out
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

/// Parses integers, decimals, `a/b` and `\frac{a}{b}` (with signs) into a
/// reduced fraction.
fn rational(s: &str) -> Option<(i128, i128)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (n, d) = if let Some(f) = body.strip_prefix("\\frac{") {
        let (a, rest) = f.split_once('}')?;
        let b = rest.strip_prefix('{')?.strip_suffix('}')?;
        div(decimal(a)?, decimal(b)?)?
    } else if let Some((a, b)) = body.split_once('/') {
        div(decimal(a)?, decimal(b)?)?
    } else {
        decimal(body)?
    };
    Some(if neg { (-n, d) } else { (n, d) })
}

fn div((an, ad): (i128, i128), (bn, bd): (i128, i128)) -> Option<(i128, i128)> {
    if bn == 0 {
        return None;
    }
    reduce(an.checked_mul(bd)?, ad.checked_mul(bn)?)
}

/// `66,200` and `3.25` as fractions; commas must group digits by three.
fn decimal(s: &str) -> Option<(i128, i128)> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if s.is_empty() || s.len() > 30 {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let int: String = groups.concat();
    if !(int.chars().all(|c| c.is_ascii_digit()) && frac.chars().all(|c| c.is_ascii_digit()))
        || (int.is_empty() && frac.is_empty())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let mut n: i128 = 0;
    for c in int.chars().chain(frac.chars()) {
        n = n.checked_mul(10)?.checked_add(i128::from(c as u8 - b'0'))?;
    }
    let d = 10i128.checked_pow(frac.len() as u32)?;
    let (n, d) = reduce(n, d)?;
    Some(if neg { (-n, d) } else { (n, d) })
}

fn reduce(n: i128, d: i128) -> Option<(i128, i128)> {
    if d == 0 {
        return None;
    }
    let g = gcd(n.unsigned_abs(), d.unsigned_abs()) as i128;
    let (n, d) = if g > 1 { (n / g, d / g) } else { (n, d) };
    Some(if d < 0 {
        (n.checked_neg()?, d.checked_neg()?)
    } else {
        (n, d)
    })
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
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
