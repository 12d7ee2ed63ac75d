//! Brace matching for LaTeX arguments, shared by the answer extractor and
//! the normaliser (its own module so that neither depends on the other).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_complete_box_wins() {
        assert_eq!(
            last_boxed("x \\boxed{1} y \\boxed{\\frac{1}{2}} z"),
            Some("\\frac{1}{2}")
        );
        assert_eq!(last_boxed("\\fbox{3} then \\boxed{4}"), Some("4"));
        assert_eq!(last_boxed("\\boxed{1} \\boxed{open"), Some("1"));
        assert_eq!(last_boxed("no box"), None);
        assert_eq!(balanced("{a{b}c}d"), Some("a{b}c"));
        assert_eq!(balanced("{a\\}b}"), Some("a\\}b"));
    }
}
