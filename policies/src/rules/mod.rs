//! Overthinking rules, one file each, behind the [`Detector`] trait.
mod budget;
mod convergence;
mod markers;
mod overthink;
pub mod probe;
mod repetition;

pub use budget::Budget;
pub use convergence::{Convergence, ConvergenceOpts};
pub use markers::Markers;
pub use overthink::Overthink;
pub use repetition::Repetition;

use crate::text::Event;
use crate::RuleSpec;

/// Where the stream stands when a rule is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    /// Reasoning tokens observed, including the current delta.
    pub tokens: u64,
    /// Index of the current step.
    pub step: u32,
    /// Characters of reasoning consumed, including the one being scanned:
    /// a length that does not depend on how the text was split into deltas,
    /// for thresholds relative to the reasoning so far.
    pub chars: u64,
}

/// A rule fed by the scanner's events and by token counts.
///
/// Both hooks return a reason when the rule wants to brake. Text events are
/// delivered at the exact character where they complete, so text-driven
/// rules brake at the same position however the text is split into deltas.
pub trait Detector: Send + std::fmt::Debug {
    fn on_event(&mut self, _event: &Event<'_>, _ctx: &Ctx) -> Option<String> {
        None
    }
    /// Called once per delta, after its text, with the tokens it held.
    fn on_tokens(&mut self, _tokens: u32, _ctx: &Ctx) -> Option<String> {
        None
    }
    /// The answer this rule braked on, when it knows better than "the latest
    /// candidate" (convergence knows which answer converged).
    fn answer(&self) -> Option<&str> {
        None
    }
}

/// Builds the detector for a validated spec; `None` for the probe rule,
/// which the monitor drives itself (it asks for probes and takes their
/// answers, which no text event carries).
pub fn build(spec: &RuleSpec) -> Option<Box<dyn Detector>> {
    Some(match *spec {
        RuleSpec::Budget {
            max_reasoning_tokens,
            ..
        } => Box::new(Budget::new(max_reasoning_tokens)),
        RuleSpec::Convergence {
            repeats,
            form,
            verified,
            conclusions,
            reset_on_operand,
            openers_only,
            then_recheck,
            settle,
            ..
        } => Box::new(Convergence::new(
            repeats,
            form,
            verified,
            conclusions,
            ConvergenceOpts {
                reset_on_operand,
                openers_only,
                then_recheck,
                settle,
            },
        )),
        RuleSpec::Markers {
            threshold, window, ..
        } => Box::new(Markers::new(threshold, window)),
        RuleSpec::Overthink {
            beta,
            tau,
            form,
            min_steps_after,
            ..
        } => Box::new(Overthink::new(beta, tau, form, min_steps_after)),
        RuleSpec::Repetition { ngram, repeats, .. } => Box::new(Repetition::new(ngram, repeats)),
        RuleSpec::Probe(_) => return None,
    })
}
