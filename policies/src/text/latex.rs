//! LaTeX commands rewritten to plain forms before answers are compared:
//! `\dfrac12` → `\frac{1}{2}`, `\sqrt2` → `\sqrt{2}`, wrappers such as
//! `\text{…}` unwrapped.

/// `\text{..}`, `\textbf{..}`, `\mathrm{..}`, `\mbox{..}`, `\boxed{..}` are
/// replaced by their argument.
pub(super) fn unwrap_commands(s: &str) -> String {
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
pub(super) fn plain_roots(s: &str) -> String {
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
pub(super) fn expand_short_args(s: &str) -> String {
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
