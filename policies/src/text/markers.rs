//! Overthinking-marker counting over a stream.
//!
//! One Aho–Corasick DFA is stepped byte by byte and its state is kept between
//! deltas, so a marker split across deltas ("Wa" + "it") is found without
//! buffering text. Matches must sit on word boundaries: SBT's reference code
//! counts "but" inside "button"; here a match is reported only when the
//! character before it and the character after it are not word characters.
//! Because the character after a match may arrive in the next delta, a match
//! is held as pending until that character (or [`MarkerMatcher::finish`])
//! settles it.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};
use std::sync::{Arc, OnceLock};

/// SBT's 25 overthinking markers plus "Maybe" (the paper adds it) and
/// "Alternatively", the most common way R1-style models open a re-check.
pub const MARKERS: &[&str] = &[
    "another",
    "backtrack",
    "but",
    "check",
    "going back",
    "hmm",
    "hmmm",
    "however",
    "hold on",
    "instead of",
    "just to be thorough",
    "just to make sure",
    "let me check",
    "let me just double-check",
    "let me try another",
    "let me verify",
    "maybe i can consider",
    "maybe i should consider",
    "might",
    "not sure",
    "perhaps",
    "recheck",
    "retry",
    "trace back",
    "wait",
    "maybe",
    "alternatively",
];

/// Markers that open a verification of an answer already found (as opposed
/// to hesitation in general); the convergence rule can require one between
/// two statements of the same answer.
const VERIFICATION: &[&str] = &[
    "check",
    "let me check",
    "let me just double-check",
    "let me verify",
    "just to be thorough",
    "just to make sure",
    "recheck",
    "wait",
    "alternatively",
    "double-check",
    "verify",
    "confirm",
    "another way",
];

/// Longest pattern, in bytes; the boundary ring must cover it.
const RING: usize = 64;

/// A settled marker occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkerHit {
    /// Words in the marker phrase, used as its token weight in κ.
    pub words: u32,
    /// Whether the marker opens a verification.
    pub verification: bool,
    /// Whether it announces an explicit check ("check", "verify",
    /// "confirm", "just to make sure", ...), not a bare "wait" or
    /// "alternatively".
    pub checking: bool,
    /// Whether the phrase is one of SBT's markers (counted in κ); the extra
    /// verification phrases are not.
    pub sbt: bool,
    /// Whether it stands in the first sentence of a step, where SBT's
    /// evolution solutions announce themselves; set by the scanner.
    pub opening: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    pattern: usize,
    start: u64,
}

/// Streaming, word-bounded, case-insensitive marker matcher.
#[derive(Debug, Clone)]
pub struct MarkerMatcher {
    dfa: Arc<DFA>,
    meta: Arc<Vec<Meta>>,
    state: StateID,
    pos: u64,
    /// `word[i % RING]`: whether byte `i` belongs to a word character.
    word: [bool; RING],
    pending: Option<Pending>,
    /// End (exclusive) of the last counted match; an overlapping shorter
    /// match ("check" inside "let me check") is not counted twice.
    counted_end: u64,
}

#[derive(Debug, Clone)]
struct Meta {
    len: usize,
    hit: MarkerHit,
}

impl Default for MarkerMatcher {
    fn default() -> Self {
        Self::new()
    }
}

type Shared = (Arc<DFA>, Arc<Vec<Meta>>);

/// Builds the shared automaton now rather than in the first monitor: a
/// server calls this at start, so its first request does not wait the
/// 5 ms or so the build and its first-touch page faults take.
pub fn prepare() {
    shared();
}

/// The automaton is built once per process: every monitor (one per request)
/// shares it.
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let mut patterns: Vec<&str> = MARKERS.to_vec();
        for v in VERIFICATION {
            if !patterns.contains(v) {
                patterns.push(v);
            }
        }
        let meta = patterns
            .iter()
            .map(|p| Meta {
                len: p.len(),
                hit: MarkerHit {
                    words: p.split(' ').count() as u32,
                    verification: VERIFICATION.contains(p),
                    checking: VERIFICATION.contains(p) && !matches!(*p, "wait" | "alternatively"),
                    sbt: MARKERS.contains(p),
                    opening: false,
                },
            })
            .collect();
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&patterns)
            .expect("marker patterns are valid");
        (Arc::new(dfa), Arc::new(meta))
    })
}

impl MarkerMatcher {
    pub fn new() -> Self {
        let (dfa, meta) = shared();
        let state = dfa
            .start_state(Anchored::No)
            .expect("unanchored search is supported");
        Self {
            dfa: dfa.clone(),
            meta: meta.clone(),
            state,
            pos: 0,
            word: [false; RING],
            pending: None,
            counted_end: 0,
        }
    }

    /// Feeds one character; returns a marker whose end boundary this
    /// character settled.
    #[inline]
    pub fn push_char(&mut self, c: char, is_word: bool) -> Option<MarkerHit> {
        let settled = self.settle(!is_word);
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        for &b in bytes {
            self.word[(self.pos % RING as u64) as usize] = is_word;
            self.pos += 1;
            self.state = self.dfa.next_state(Anchored::No, self.state, b);
            if self.dfa.is_match(self.state) {
                self.take_matches();
            }
        }
        settled
    }

    /// Settles a pending match at the end of the stream.
    pub fn finish(&mut self) -> Option<MarkerHit> {
        self.settle(true)
    }

    fn settle(&mut self, boundary_after: bool) -> Option<MarkerHit> {
        let p = self.pending.take()?;
        if !boundary_after {
            return None;
        }
        let m = &self.meta[p.pattern];
        let end = p.start + m.len as u64;
        if p.start < self.counted_end {
            return None;
        }
        self.counted_end = end;
        Some(m.hit)
    }

    /// Among the patterns ending at the current byte, keeps the longest that
    /// starts on a word boundary.
    fn take_matches(&mut self) {
        let end = self.pos;
        let mut best: Option<Pending> = None;
        for i in 0..self.dfa.match_len(self.state) {
            let pid = self.dfa.match_pattern(self.state, i).as_usize();
            let len = self.meta[pid].len as u64;
            let start = end - len;
            let before_ok = start == 0 || !self.word[((start - 1) % RING as u64) as usize];
            if before_ok && best.is_none_or(|b| b.start > start) {
                best = Some(Pending {
                    pattern: pid,
                    start,
                });
            }
        }
        if let Some(b) = best {
            self.pending = Some(b);
        }
    }
}
