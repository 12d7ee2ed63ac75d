//! One pass over the reasoning, character by character, that turns text into
//! the events the rules consume: steps, markers, words and candidate answers.
//!
//! It keeps only the current segment (a sentence or line, capped at
//! [`SEGMENT_CAP`] bytes), a marker-automaton state and a word hash, so work
//! per token is O(1) amortised and memory does not grow with the reasoning.

use super::answer::{AnswerExtractor, Candidate};
use super::markers::{MarkerHit, MarkerMatcher};

/// Longest segment kept, in bytes; a longer run without sentence or line end
/// keeps its most recent part.
pub const SEGMENT_CAP: usize = 1024;

/// Something the rules may react to.
#[derive(Debug)]
pub enum Event<'a> {
    /// A blank line closed the current step (its 0-based index).
    StepEnd(u32),
    /// A new step (text after a blank line) started; its 0-based index.
    Step(u32),
    Marker(MarkerHit),
    /// A word ended; its case-folded hash (for loop detection).
    Word(u64),
    Candidate(&'a Candidate),
    /// A candidate the question rules out as its answer (a value it gives,
    /// a lone component where several values are asked for); sent instead
    /// of `Candidate` when the monitor was told the question.
    Dismissed(&'a Candidate),
    /// A number used as an operand (canonical form): an intermediate value.
    Operand(&'a str),
}

/// Incremental text segmenter and event source.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    step: u32,
    /// A blank line was seen; the next non-blank character opens a step.
    step_pending: bool,
    /// Only whitespace since the last newline.
    line_blank: bool,
    started: bool,
    segment: String,
    depth: i32,
    prev: char,
    extractor: AnswerExtractor,
    markers: MarkerMatcher,
    word_hash: u64,
    in_word: bool,
    chars: u64,
    last: Option<Candidate>,
    segments_in_step: u32,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Scanner {
    pub fn new() -> Self {
        Self {
            word_hash: FNV_OFFSET,
            ..Self::default()
        }
    }

    /// Index of the current step.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Characters consumed so far.
    pub fn chars(&self) -> u64 {
        self.chars
    }

    /// Consumes one character, reporting events to `emit`.
    #[inline]
    pub fn push(&mut self, c: char, emit: &mut impl FnMut(Event<'_>)) {
        self.chars += 1;
        let is_word = if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_'
        } else {
            c.is_alphanumeric()
        };
        if let Some(mut hit) = self.markers.push_char(c, is_word) {
            hit.opening = self.segments_in_step == 0;
            emit(Event::Marker(hit));
        }
        if is_word {
            let folded = if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                c.to_lowercase().next().unwrap_or(c)
            };
            self.word_hash =
                (self.word_hash ^ u64::from(u32::from(folded))).wrapping_mul(FNV_PRIME);
            self.in_word = true;
        } else if self.in_word {
            emit(Event::Word(self.word_hash));
            self.word_hash = FNV_OFFSET;
            self.in_word = false;
        }

        if c == '\n' {
            self.end_segment(emit);
            if self.line_blank && self.started && !self.step_pending {
                self.step_pending = true;
                emit(Event::StepEnd(self.step));
            }
            self.line_blank = true;
            self.depth = 0;
        } else if c.is_whitespace() {
            if matches!(self.prev, '.' | '?' | '!') && self.depth <= 0 {
                self.end_segment(emit);
            }
        } else {
            self.line_blank = false;
            if self.step_pending {
                self.step_pending = false;
                self.step += 1;
                self.segments_in_step = 0;
                emit(Event::Step(self.step));
            }
            self.started = true;
            match c {
                '{' => self.depth += 1,
                '}' => self.depth = (self.depth - 1).max(0),
                _ => {}
            }
        }
        if c != '\n' && (self.segment.len() < SEGMENT_CAP || self.trim_segment()) {
            self.segment.push(c);
        }
        self.prev = c;
    }

    /// Flushes what is pending at the end of the stream.
    pub fn finish(&mut self, emit: &mut impl FnMut(Event<'_>)) {
        if let Some(hit) = self.markers.finish() {
            emit(Event::Marker(hit));
        }
        if self.in_word {
            emit(Event::Word(self.word_hash));
            self.in_word = false;
        }
        self.end_segment(emit);
    }

    /// Drops the older half of an over-long segment.
    fn trim_segment(&mut self) -> bool {
        let mut cut = self.segment.len() / 2;
        while !self.segment.is_char_boundary(cut) {
            cut += 1;
        }
        self.segment.drain(..cut);
        true
    }

    fn end_segment(&mut self, emit: &mut impl FnMut(Event<'_>)) {
        if self.segment.trim().is_empty() {
            self.segment.clear();
            return;
        }
        self.segments_in_step += 1;
        let found = self.extractor.segment(&self.segment);
        super::answer::operands(&self.segment, |n| emit(Event::Operand(n)));
        self.segment.clear();
        if let Some(c) = found {
            self.last = Some(c);
            if let Some(c) = &self.last {
                emit(Event::Candidate(c));
            }
        }
    }
}
