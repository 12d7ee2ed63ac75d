use super::{Ctx, Detector};
use crate::text::Event;

/// Slots in the n-gram count table; collisions only ever over-count, and a
/// loop repeats the same n-grams so often that this stays harmless.
const TABLE: usize = 4096;

/// Base of the polynomial rolling hash over word hashes.
const BASE: u64 = 0x0100_0000_01b3;

/// Brakes on a generation loop: the same run of `ngram` words `repeats`
/// times. Memory is the last `ngram` word hashes plus a fixed table.
#[derive(Debug, Clone)]
pub struct Repetition {
    ngram: usize,
    repeats: u32,
    words: Vec<u64>,
    at: usize,
    filled: usize,
    /// Rolling hash of the last `ngram` words and BASE^ngram, so that each
    /// word costs O(1) whatever the n-gram length.
    rolling: u64,
    base_pow: u64,
    counts: Vec<(u64, u32)>,
}

impl Repetition {
    pub fn new(ngram: u32, repeats: u32) -> Self {
        Self {
            ngram: ngram as usize,
            repeats,
            words: vec![0; ngram as usize],
            at: 0,
            filled: 0,
            rolling: 0,
            base_pow: (0..ngram).fold(1u64, |p, _| p.wrapping_mul(BASE)),
            counts: vec![(0, 0); TABLE],
        }
    }
}

impl Detector for Repetition {
    fn on_event(&mut self, event: &Event<'_>, _ctx: &Ctx) -> Option<String> {
        let Event::Word(h) = *event else {
            return None;
        };
        let old = std::mem::replace(&mut self.words[self.at], h);
        self.at = (self.at + 1) % self.ngram;
        self.rolling = self
            .rolling
            .wrapping_mul(BASE)
            .wrapping_add(h)
            .wrapping_sub(if self.filled >= self.ngram {
                old.wrapping_mul(self.base_pow)
            } else {
                0
            });
        self.filled += 1;
        if self.filled < self.ngram {
            return None;
        }
        let g = self.rolling;
        let slot = &mut self.counts[(g as usize) % TABLE];
        if slot.0 == g {
            slot.1 += 1;
        } else {
            *slot = (g, 1);
        }
        (slot.1 >= self.repeats).then(|| {
            format!(
                "the same {} words were repeated {} times",
                self.ngram, slot.1
            )
        })
    }
}
