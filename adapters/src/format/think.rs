//! Splits `delta.content` into reasoning and answer where the engine sends
//! reasoning inline as `<think>...</think>` (no reasoning parser).
//!
//! Rules (documented behaviour):
//! - Tags may be split across chunks at any byte: a chunk tail that could be
//!   the start of the awaited tag is held back until the next chunk decides.
//! - `<think>` opens reasoning only at the start of the content (after
//!   whitespace only), and only once: a `<think>` later in the answer is
//!   answer text. Leading whitespace before it is dropped; leading
//!   whitespace that turns out not to precede `<think>` is answer text.
//! - Templates that open `<think>` themselves (DeepSeek-R1, QwQ, Qwen3 with
//!   some templates) send no opening tag: set `assume_open` (the adapter's
//!   `assume_open_think`), and content is reasoning until `</think>`.
//!   Without it, such reasoning comes out as answer text with a literal
//!   `</think>` in it: nothing is held back to guess.
//! - When the engine sends a reasoning field (`delta.reasoning` /
//!   `reasoning_content`) it has a parser, and an assumed-open block that
//!   has produced nothing yet is dropped (content is the answer).

use super::{CLOSE_THINK as CLOSE, OPEN_THINK as OPEN};

/// A classified piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Reasoning(String),
    Content(String),
}

impl From<Piece> for crate::BackendEvent {
    fn from(piece: Piece) -> Self {
        match piece {
            Piece::Reasoning(r) => crate::BackendEvent::Reasoning(r),
            Piece::Content(c) => crate::BackendEvent::Content(c),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Start of content: whitespace only so far, `<think>` may still come.
    Start,
    /// Inside the think block; `implicit` when opened by assumption.
    Inside { implicit: bool, emitted: bool },
    /// Answer text.
    Answer,
}

#[derive(Debug)]
pub struct ThinkSplitter {
    state: State,
    held: String,
}

impl ThinkSplitter {
    pub fn new(assume_open: bool) -> Self {
        let state = if assume_open {
            State::Inside {
                implicit: true,
                emitted: false,
            }
        } else {
            State::Start
        };
        ThinkSplitter {
            state,
            held: String::new(),
        }
    }

    /// The engine sent a reasoning field: it parses reasoning itself.
    pub fn reasoning_field_seen(&mut self) {
        if let State::Inside {
            implicit: true,
            emitted: false,
        } = self.state
        {
            self.state = State::Answer;
        }
    }

    /// Classifies one content delta.
    pub fn push(&mut self, text: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut s = std::mem::take(&mut self.held);
        s.push_str(text);
        let mut rest: &str = &s;
        loop {
            match self.state {
                State::Answer => {
                    emit(&mut out, Piece::Content(rest.to_string()));
                    return out;
                }
                State::Start => {
                    let trimmed = rest.trim_start();
                    if let Some(after) = trimmed.strip_prefix(OPEN) {
                        self.state = State::Inside {
                            implicit: false,
                            emitted: false,
                        };
                        rest = after;
                    } else if OPEN.starts_with(trimmed) {
                        // Whitespace and possibly part of `<think>`: wait.
                        self.held = rest.to_string();
                        return out;
                    } else {
                        self.state = State::Answer;
                    }
                }
                State::Inside { implicit, emitted } => {
                    if let Some(i) = rest.find(CLOSE) {
                        self.emit_reasoning(&mut out, &rest[..i], implicit, emitted);
                        self.state = State::Answer;
                        rest = &rest[i + CLOSE.len()..];
                    } else {
                        let keep = partial_suffix(rest, CLOSE);
                        let cut = rest.len() - keep;
                        self.emit_reasoning(&mut out, &rest[..cut], implicit, emitted);
                        self.held = rest[cut..].to_string();
                        return out;
                    }
                }
            }
        }
    }

    /// End of the content: releases held text as what it is.
    pub fn flush(&mut self) -> Vec<Piece> {
        let held = std::mem::take(&mut self.held);
        let mut out = Vec::new();
        match self.state {
            State::Inside { .. } => emit(&mut out, Piece::Reasoning(held)),
            State::Start | State::Answer => emit(&mut out, Piece::Content(held)),
        }
        out
    }

    fn emit_reasoning(&mut self, out: &mut Vec<Piece>, text: &str, implicit: bool, emitted: bool) {
        if text.is_empty() {
            return;
        }
        if !emitted {
            self.state = State::Inside {
                implicit,
                emitted: true,
            };
        }
        emit(out, Piece::Reasoning(text.to_string()));
    }
}

fn emit(out: &mut Vec<Piece>, p: Piece) {
    let empty = match &p {
        Piece::Reasoning(s) | Piece::Content(s) => s.is_empty(),
    };
    if !empty {
        out.push(p);
    }
}

/// Length of the longest proper prefix of `tag` that ends `s`.
fn partial_suffix(s: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&k| s.ends_with(&tag[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `chunks` through a splitter; returns (reasoning, content).
    fn run(assume_open: bool, chunks: &[&str]) -> (String, String) {
        let mut t = ThinkSplitter::new(assume_open);
        let mut pieces = Vec::new();
        for c in chunks {
            pieces.extend(t.push(c));
        }
        pieces.extend(t.flush());
        let (mut r, mut c) = (String::new(), String::new());
        for p in pieces {
            match p {
                Piece::Reasoning(s) => r.push_str(&s),
                Piece::Content(s) => c.push_str(&s),
            }
        }
        (r, c)
    }

    fn every_split(assume_open: bool, text: &str, want: (&str, &str)) {
        let want = (want.0.to_string(), want.1.to_string());
        assert_eq!(run(assume_open, &[text]), want, "whole");
        let idx: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &i in &idx {
            assert_eq!(run(assume_open, &[&text[..i], &text[i..]]), want, "at {i}");
            for &j in idx.iter().filter(|&&j| j >= i) {
                let got = run(assume_open, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, want, "at {i},{j}");
            }
        }
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(run(assume_open, &refs), want, "char by char");
    }

    #[test]
    fn explicit_tags_split_everywhere() {
        every_split(
            false,
            "<think>Let x = 2 < 3. é</think>The answer is 4.",
            ("Let x = 2 < 3. é", "The answer is 4."),
        );
        every_split(false, "\n <think>a</thin</think>b", ("a</thin", "b"));
    }

    #[test]
    fn no_tags_is_answer() {
        every_split(
            false,
            "  Just <an> answer </think>",
            ("", "  Just <an> answer </think>"),
        );
        every_split(false, "<thin", ("", "<thin"));
        assert_eq!(run(false, &["\n", "\n"]), ("".into(), "\n\n".into()));
    }

    #[test]
    fn later_open_tag_is_answer_text() {
        every_split(false, "<think>r</think>a <think>b", ("r", "a <think>b"));
    }

    #[test]
    fn assumed_open() {
        every_split(true, "reason </think>\n\nanswer", ("reason ", "\n\nanswer"));
        every_split(true, "unfinished </thi", ("unfinished </thi", ""));
    }

    #[test]
    fn reasoning_field_cancels_assumption() {
        let mut t = ThinkSplitter::new(true);
        t.reasoning_field_seen();
        assert_eq!(t.push("answer"), vec![Piece::Content("answer".into())]);
        let mut t = ThinkSplitter::new(true);
        assert_eq!(t.push("r"), vec![Piece::Reasoning("r".into())]);
        t.reasoning_field_seen();
        assert_eq!(t.push("s"), vec![Piece::Reasoning("s".into())]);
    }
}
