//! `plot.svg`: reasoning tokens per question, unbraked beside braked, with
//! each run's correctness under its bar. Plain SVG, written by hand: a
//! chart library would be the heaviest dependency of the binary.
use std::fmt::Write;

use super::report::Row;

const BAR: f64 = 14.0;
const GAP: f64 = 10.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 30.0;

/// Escapes text for an SVG text node.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mark(correct: Option<bool>) -> (&'static str, &'static str) {
    match correct {
        Some(true) => ("✓", "#2a7"),
        Some(false) => ("✗", "#c33"),
        None => ("", "#000"),
    }
}

pub fn svg(rows: &[Row]) -> String {
    let max = rows
        .iter()
        .map(|r| r.unbraked.reasoning_tokens.max(r.braked.reasoning_tokens))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let width = LEFT + rows.len() as f64 * (2.0 * BAR + GAP) + 20.0;
    let total = TOP + HEIGHT + 90.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{total:.0}" font-family="sans-serif" font-size="10">"#
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="16" font-size="12">reasoning tokens per question: unbraked (grey) and braked (blue); ✓/✗ against gold</text>"##
    );
    let base = TOP + HEIGHT;
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{base}" x2="{width:.0}" y2="{base}" stroke="#000"/><text x="4" y="{TOP}">{max:.0}</text><text x="4" y="{base}">0</text>"##
    );
    for (i, r) in rows.iter().enumerate() {
        let x = LEFT + i as f64 * (2.0 * BAR + GAP);
        for (k, (side, color)) in [(&r.unbraked, "#999"), (&r.braked, "#37c")]
            .into_iter()
            .enumerate()
        {
            let h = side.reasoning_tokens as f64 / max * HEIGHT;
            let bx = x + k as f64 * BAR;
            let _ = writeln!(
                s,
                r#"<rect x="{bx:.1}" y="{:.1}" width="{BAR}" height="{h:.1}" fill="{color}"/>"#,
                base - h
            );
            let (m, c) = mark(side.correct);
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" fill="{c}" text-anchor="middle">{m}</text>"#,
                bx + BAR / 2.0,
                base + 12.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text transform="translate({:.1},{:.1}) rotate(60)">{}</text>"#,
            x + BAR / 2.0,
            base + 20.0,
            esc(&r.id)
        );
    }
    s.push_str("</svg>\n");
    s
}
