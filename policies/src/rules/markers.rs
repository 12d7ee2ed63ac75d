use super::{Ctx, Detector};
use crate::text::Event;

/// Brakes when the marker density κ over the last `window` tokens exceeds a
/// threshold: a model that says "wait", "hmm", "but maybe" every few words is
/// circling, not progressing.
#[derive(Debug, Clone)]
pub struct Markers {
    threshold: f64,
    /// Marker tokens per token slot of the window, as a ring.
    ring: Vec<u16>,
    at: u64,
    in_window: u64,
    current: u16,
}

impl Markers {
    pub fn new(threshold: f64, window: u32) -> Self {
        Self {
            threshold,
            ring: vec![0; window as usize],
            at: 0,
            in_window: 0,
            current: 0,
        }
    }
}

impl Detector for Markers {
    fn on_event(&mut self, event: &Event<'_>, _ctx: &Ctx) -> Option<String> {
        if let Event::Marker(hit) = event {
            if hit.sbt {
                self.current = self.current.saturating_add(hit.words as u16);
            }
        }
        None
    }

    fn on_tokens(&mut self, tokens: u32, ctx: &Ctx) -> Option<String> {
        let w = self.ring.len() as u64;
        // The delta's marker tokens go to its first slot; the rest are empty.
        for k in 0..u64::from(tokens).min(w) {
            let slot = ((self.at + k) % w) as usize;
            self.in_window -= u64::from(self.ring[slot]);
            self.ring[slot] = if k == 0 { self.current } else { 0 };
            self.in_window += u64::from(self.ring[slot]);
        }
        if u64::from(tokens) > w {
            self.in_window = u64::from(self.current);
        }
        self.at += u64::from(tokens);
        self.current = 0;
        let kappa = self.in_window as f64 / w as f64;
        (ctx.tokens >= w && kappa > self.threshold).then(|| {
            format!(
                "marker density {kappa:.3} over the last {w} tokens exceeds {}",
                self.threshold
            )
        })
    }
}
