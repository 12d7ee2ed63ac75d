use super::{Ctx, Detector};
use crate::text::Event;

/// Slots in the n-gram count table; collisions only ever over-count, and a
/// loop repeats the same n-grams so often that this stays harmless.
const TABLE: usize = 8192;

/// Brakes on a generation loop: the same run of `ngram` words `repeats`
/// times. Memory is the last `ngram` word hashes plus a fixed table.
#[derive(Debug, Clone)]
pub struct Repetition {
    ngram: usize,
    repeats: u32,
    words: Vec<u64>,
    at: usize,
    filled: usize,
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
            counts: vec![(0, 0); TABLE],
        }
    }
}

impl Detector for Repetition {
    fn on_event(&mut self, event: &Event<'_>, _ctx: &Ctx) -> Option<String> {
        let Event::Word(h) = *event else {
            return None;
        };
        self.words[self.at] = h;
        self.at = (self.at + 1) % self.ngram;
        self.filled += 1;
        if self.filled < self.ngram {
            return None;
        }
        let mut g: u64 = 0x9e37_79b9_7f4a_7c15;
        for k in 0..self.ngram {
            let w = self.words[(self.at + k) % self.ngram];
            g = (g.rotate_left(5) ^ w).wrapping_mul(0x0100_0000_01b3);
        }
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
