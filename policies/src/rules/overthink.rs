use super::{Ctx, Detector};
use crate::text::{Event, Strength};

/// SBT's overthink score computed live: β·κ + (1−β)(1−η), where η = FS/TS is
/// estimated with FS = the step that first stated an answer and TS = the
/// steps so far. The offline score needs the correct answer; live, the first
/// candidate answer stands in for it, which is why a minimum answer form is
/// configurable.
#[derive(Debug, Clone)]
pub struct Overthink {
    beta: f64,
    tau: f64,
    min: Strength,
    min_steps_after: u32,
    foundation: Option<u32>,
    marker_tokens: u64,
}

impl Overthink {
    pub fn new(beta: f64, tau: f64, min: Strength, min_steps_after: u32) -> Self {
        Self {
            beta,
            tau,
            min,
            min_steps_after,
            foundation: None,
            marker_tokens: 0,
        }
    }

    fn score(&self, ctx: &Ctx) -> Option<f64> {
        let fs = u64::from(self.foundation?) + 1;
        let ts = u64::from(ctx.step) + 1;
        if ts < fs + u64::from(self.min_steps_after) {
            return None;
        }
        let eta = fs as f64 / ts as f64;
        let kappa = self.marker_tokens as f64 / ctx.tokens.max(1) as f64;
        Some(self.beta * kappa + (1.0 - self.beta) * (1.0 - eta))
    }
}

impl Detector for Overthink {
    fn on_event(&mut self, event: &Event<'_>, ctx: &Ctx) -> Option<String> {
        match event {
            Event::Marker(hit) if hit.sbt => self.marker_tokens += u64::from(hit.words),
            Event::Candidate(c) if c.strength >= self.min && self.foundation.is_none() => {
                self.foundation = Some(ctx.step);
            }
            Event::Step(_) => {
                let score = self.score(ctx)?;
                return (score > self.tau).then(|| {
                    format!(
                        "overthink score {score:.3} > {} ({} steps after the first answer)",
                        self.tau,
                        ctx.step - self.foundation.unwrap_or(0)
                    )
                });
            }
            _ => {}
        }
        None
    }
}
