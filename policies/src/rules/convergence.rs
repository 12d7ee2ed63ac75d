use super::{Ctx, Detector};
use crate::text::{Event, Strength};

/// Answers remembered at once; older ones are forgotten first. A trace that
/// wanders through more distinct answers than this has not converged.
const TRACKED: usize = 32;

#[cfg(test)]
#[test]
fn free_variables() {
    assert!(has_free_variable("x^2p(x)-1"));
    assert!(has_free_variable("\\sqrt{y^2+900}"));
    assert!(!has_free_variable("3\\sqrt{13}"));
    assert!(!has_free_variable("-2+7i"));
    assert!(!has_free_variable("\\frac{\\pi}{2}"));
}

#[derive(Debug, Clone)]
struct Seen {
    normalized: String,
    steps: u32,
    last_step: u32,
    /// Verification markers seen up to the last counted statement.
    verifications_at: u64,
    age: u64,
    /// Characters of reasoning when the value was first concluded.
    first_chars: u64,
}

/// The refinements of [`Convergence`] beyond SBT's definition.
#[derive(Debug, Clone, Copy)]
pub struct ConvergenceOpts {
    /// Forget an answer's count when the value is used as an operand.
    pub reset_on_operand: bool,
    /// Count only verification markers that open a step.
    pub openers_only: bool,
    /// Once converged, wait for a later step whose first sentence announces
    /// an explicit check ("let me check", "verify", "just to make sure"):
    /// another re-check rather than moving on, before braking.
    pub then_recheck: bool,
    /// Once converged, brake only at a step end where the reasoning since
    /// the value was first concluded is at least `settle` times the
    /// reasoning before it, with no other value concluded and the value not
    /// computed with meanwhile (0: brake at once). Relative, so short and
    /// long reasoning are judged alike.
    pub settle: f64,
}

/// Brakes once the same answer has been reached in `repeats` separate steps
/// (optionally with a verification between them): SBT keeps the foundation
/// solution and one evolution solution, and this is the moment the second
/// one agrees with the first.
#[derive(Debug, Clone)]
pub struct Convergence {
    repeats: u32,
    min: Strength,
    verified: bool,
    conclusions: bool,
    reset_on_operand: bool,
    openers_only: bool,
    then_recheck: bool,
    settle: f64,
    /// Converged (normalised, raw, reason, step) awaiting a re-check opener.
    armed: Option<(String, String, String, u32)>,
    /// Converged (normalised, raw, reason, chars needed) awaiting `settle`.
    settling: Option<(String, String, String, u64)>,
    /// The latest counted-strength candidate of the current step.
    pending: Option<(String, String)>,
    verifications: u64,
    seen: Vec<Seen>,
    clock: u64,
    converged: Option<String>,
}

impl Convergence {
    pub fn new(
        repeats: u32,
        min: Strength,
        verified: bool,
        conclusions: bool,
        opts: ConvergenceOpts,
    ) -> Self {
        Self {
            repeats,
            min,
            verified,
            conclusions,
            reset_on_operand: opts.reset_on_operand,
            pending: None,
            openers_only: opts.openers_only,
            then_recheck: opts.then_recheck,
            settle: opts.settle,
            armed: None,
            settling: None,
            verifications: 0,
            seen: Vec::new(),
            clock: 0,
            converged: None,
        }
    }

    fn statement(&mut self, normalized: &str, raw: &str, ctx: &Ctx) -> Option<(String, u64)> {
        let step = ctx.step;
        self.clock += 1;
        let (verifications, verified, clock) = (self.verifications, self.verified, self.clock);
        let entry = match self
            .seen
            .iter_mut()
            .position(|s| s.normalized == normalized)
        {
            Some(i) => &mut self.seen[i],
            None => {
                if self.seen.len() == TRACKED {
                    let oldest = (0..self.seen.len())
                        .min_by_key(|&i| self.seen[i].age)
                        .unwrap_or(0);
                    self.seen.swap_remove(oldest);
                }
                self.seen.push(Seen {
                    normalized: normalized.to_string(),
                    steps: 1,
                    last_step: step,
                    verifications_at: verifications,
                    age: clock,
                    first_chars: ctx.chars,
                });
                if self.repeats <= 1 {
                    return Some((format!("answer {raw} reached"), ctx.chars));
                }
                return None;
            }
        };
        entry.age = clock;
        if entry.last_step == step || (verified && verifications <= entry.verifications_at) {
            return None;
        }
        entry.steps += 1;
        entry.last_step = step;
        entry.verifications_at = verifications;
        if entry.steps < self.repeats {
            return None;
        }
        let reason = format!(
            "answer {raw} reached in {} separate steps{}",
            entry.steps,
            if verified {
                " with a re-check between"
            } else {
                ""
            }
        );
        Some((reason, entry.first_chars))
    }
}

/// Whether an answer still holds a variable (`x^2p(x)-1`, `\\sqrt{y^2+900}`):
/// letters outside `\\commands`, other than a lone `i`. Such an `= X.` is an
/// expression on its way, not a value, so it does not count.
fn has_free_variable(normalized: &str) -> bool {
    let b = normalized.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 1;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            continue;
        }
        if b[i].is_ascii_alphabetic() {
            let lone_i = b[i] == b'i'
                && !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
                && !(i > 0 && b[i - 1].is_ascii_alphabetic());
            if !lone_i {
                return true;
            }
        }
        i += 1;
    }
    false
}

impl Convergence {
    /// A statement that converged either brakes now or arms the wait for a
    /// re-check opener.
    fn counted(&mut self, normalized: &str, raw: &str, ctx: &Ctx) -> Option<String> {
        if self.armed.as_ref().is_some_and(|(a, ..)| a != normalized) {
            self.armed = None;
        }
        if self
            .settling
            .as_ref()
            .is_some_and(|(a, ..)| a != normalized)
        {
            self.settling = None;
        }
        let (reason, first_chars) = self.statement(normalized, raw, ctx)?;
        if self.then_recheck {
            self.converged = None;
            self.armed = Some((normalized.to_string(), raw.to_string(), reason, ctx.step));
            return None;
        }
        if self.settle > 0.0 {
            let need = first_chars + (first_chars as f64 * self.settle).ceil() as u64;
            self.settling = Some((normalized.to_string(), raw.to_string(), reason, need));
            return None;
        }
        self.converged = Some(raw.to_string());
        Some(reason)
    }

    /// At a step end: the settling value has stood long enough.
    fn settled(&mut self, ctx: &Ctx) -> Option<String> {
        if self.settling.as_ref()?.3 > ctx.chars {
            return None;
        }
        let (_, raw, reason, _) = self.settling.take()?;
        self.converged = Some(raw);
        Some(format!(
            "{reason}, and it stood for {:.1}x the reasoning that found it",
            self.settle
        ))
    }
}

impl Detector for Convergence {
    fn answer(&self) -> Option<&str> {
        self.converged.as_deref()
    }

    fn on_event(&mut self, event: &Event<'_>, ctx: &Ctx) -> Option<String> {
        match event {
            Event::Marker(hit) => {
                if hit.verification && (hit.opening || !self.openers_only) {
                    self.verifications += 1;
                }
                let opens = hit.opening && hit.checking;
                match &self.armed {
                    Some((_, _, _, at)) if opens && ctx.step > *at => {
                        let (_, raw, reason, _) = self.armed.take()?;
                        self.converged = Some(raw);
                        Some(format!("{reason}, and a later step opens another check"))
                    }
                    _ => None,
                }
            }
            Event::Candidate(c)
                if c.strength >= self.min
                    && !(c.strength == Strength::Equation && has_free_variable(&c.normalized)) =>
            {
                if self.conclusions {
                    self.pending = Some((c.normalized.clone(), c.raw.clone()));
                    None
                } else {
                    self.counted(&c.normalized, &c.raw, ctx)
                }
            }
            // The step's last candidate is a value the question gives or a
            // lone component: the step did not conclude an answer.
            Event::Dismissed(_) if self.conclusions => {
                self.pending = None;
                None
            }
            Event::Operand(n) if self.reset_on_operand => {
                if let Some(e) = self.seen.iter_mut().find(|s| s.normalized == *n) {
                    e.steps = 0;
                }
                if self.pending.as_ref().is_some_and(|(p, _)| p == n) {
                    self.pending = None;
                }
                if self.armed.as_ref().is_some_and(|(p, ..)| p == n) {
                    self.armed = None;
                }
                if self.settling.as_ref().is_some_and(|(p, ..)| p == n) {
                    self.settling = None;
                }
                None
            }
            Event::StepEnd(step) => {
                let ctx = Ctx {
                    step: *step,
                    ..*ctx
                };
                if let Some((normalized, raw)) = self.pending.take() {
                    if let Some(reason) = self.counted(&normalized, &raw, &ctx) {
                        return Some(reason);
                    }
                }
                self.settled(&ctx)
            }
            _ => None,
        }
    }
}
