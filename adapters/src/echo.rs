//! Continuations that never echo.
//!
//! A continuation sends an assistant prefix (the kept reasoning and the brake
//! statement) and expects only the text that follows it. Some servers repeat
//! the prefix first: llama.cpp's `llama-server` (build b1-0c1e570) returns
//! `content` = prefix + continuation, and when streaming its first content
//! delta is the whole prefix joined to the first new token. Others (vLLM,
//! SGLang, a raw completion) send only new text. Nothing in the response
//! says which, so [`EchoStripper`] decides from the text itself:
//!
//! - While the output so far is still a prefix of the sent prefix, it is held
//!   back (nothing else is: the wait ends at the first byte that differs).
//! - Once the output has covered the whole prefix, the held text is dropped
//!   and the rest passes: that was an echo.
//! - A server whose template trims the message ends its echo early, before
//!   the prefix's trailing whitespace: an output that covered the prefix
//!   without its trailing whitespace and then goes on differently is an echo
//!   too.
//! - Otherwise (the output differs earlier, a tool call or the finish comes,
//!   or the stream ends first) the held text is released unchanged, in its
//!   original pieces: a continuation that merely begins like the prefix is
//!   passed through intact.
//!
//! The echo may come as content or as reasoning, or split between the two:
//! the match runs over the text of both, in arrival order.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use crate::{AdapterError, BackendEvent, EventStream};

/// Which field a piece of continuation text came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Reasoning,
    Content,
}

/// A piece of text passed on, with the field it came in.
pub type Piece = (TextKind, String);

/// Removes an echo of the sent prefix from the start of a continuation.
#[derive(Debug)]
pub struct EchoStripper {
    prefix: String,
    /// Length of the prefix without its trailing whitespace.
    trimmed: usize,
    /// Bytes of the prefix the output has matched so far; `None` once decided.
    matched: Option<usize>,
    held: Vec<Piece>,
}

impl EchoStripper {
    pub fn new(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let trimmed = prefix.trim_end().len();
        let matched = (!prefix.is_empty()).then_some(0);
        EchoStripper {
            prefix,
            trimmed,
            matched,
            held: Vec::new(),
        }
    }

    /// Still deciding: text may be held back.
    pub fn is_deciding(&self) -> bool {
        self.matched.is_some()
    }

    /// One piece of output; returns what to pass on now.
    pub fn push(&mut self, kind: TextKind, text: &str) -> Vec<Piece> {
        let Some(matched) = self.matched else {
            return non_empty(kind, text);
        };
        if text.is_empty() {
            return Vec::new();
        }
        let rest = &self.prefix[matched..];
        let common = common_len(rest, text);
        if common == text.len() {
            // The whole piece is still (part of) the prefix.
            let matched = matched + common;
            if matched == self.prefix.len() {
                self.decide(true);
                return Vec::new();
            }
            self.matched = Some(matched);
            self.held.push((kind, text.to_string()));
            return Vec::new();
        }
        if common == rest.len() || self.covers_trimmed(matched + common) {
            // The prefix (or all of it but trailing whitespace) was echoed.
            self.decide(true);
            return non_empty(kind, &text[common..]);
        }
        self.decide(false);
        let mut out = std::mem::take(&mut self.held);
        out.push((kind, text.to_string()));
        out
    }

    /// Something other than text came, or the output ended: decides with
    /// what was seen and returns any held text that was not an echo.
    pub fn settle(&mut self) -> Vec<Piece> {
        let Some(matched) = self.matched else {
            return Vec::new();
        };
        let echoed = self.covers_trimmed(matched);
        self.decide(echoed);
        if echoed {
            Vec::new()
        } else {
            std::mem::take(&mut self.held)
        }
    }

    /// `matched` bytes reach past the prefix's last non-whitespace byte.
    fn covers_trimmed(&self, matched: usize) -> bool {
        self.trimmed > 0 && matched >= self.trimmed
    }

    /// Ends the wait. Held text is dropped for an echo; otherwise the
    /// caller takes it to pass on.
    fn decide(&mut self, echoed: bool) {
        tracing::debug!(
            echoed,
            prefix_bytes = self.prefix.len(),
            "continuation echo decided"
        );
        self.matched = None;
        if echoed {
            self.held = Vec::new();
        }
    }
}

fn non_empty(kind: TextKind, text: &str) -> Vec<Piece> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![(kind, text.to_string())]
    }
}

/// Length in bytes of the longest common prefix of `a` and `b`, at a
/// character boundary of both.
fn common_len(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.len().min(b.len()))
}

/// Wraps a continuation's event stream so that an echo of `prefix` in its
/// `Reasoning`/`Content` events is removed. `Meta` and `Extra` pass through
/// at once; any other event, an error or the end settles the decision first.
pub fn strip_echo(inner: EventStream, prefix: impl Into<String>) -> EventStream {
    Box::pin(Strip {
        inner,
        echo: EchoStripper::new(prefix),
        ready: std::collections::VecDeque::new(),
        ended: false,
    })
}

type Item = Result<BackendEvent, AdapterError>;

struct Strip {
    inner: EventStream,
    echo: EchoStripper,
    ready: std::collections::VecDeque<Item>,
    ended: bool,
}

impl Strip {
    fn queue(&mut self, pieces: Vec<Piece>) {
        self.ready.extend(pieces.into_iter().map(|(kind, text)| {
            Ok(match kind {
                TextKind::Reasoning => BackendEvent::Reasoning(text),
                TextKind::Content => BackendEvent::Content(text),
            })
        }));
    }
}

impl Stream for Strip {
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let item = match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(item) => item,
            };
            if !this.echo.is_deciding() {
                // Decided: forward as is.
                if item.is_none() {
                    this.ended = true;
                }
                return Poll::Ready(item);
            }
            match item {
                Some(Ok(BackendEvent::Reasoning(t))) => {
                    let out = this.echo.push(TextKind::Reasoning, &t);
                    this.queue(out);
                }
                Some(Ok(BackendEvent::Content(t))) => {
                    let out = this.echo.push(TextKind::Content, &t);
                    this.queue(out);
                }
                Some(Ok(ev @ (BackendEvent::Meta { .. } | BackendEvent::Extra(_)))) => {
                    return Poll::Ready(Some(Ok(ev)));
                }
                other => {
                    let out = this.echo.settle();
                    this.queue(out);
                    match other {
                        Some(item) => this.ready.push_back(item),
                        None => this.ended = true,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "echo_tests.rs"]
mod tests;
