//! The `probe` rule: ask the model itself whether it already has the answer.
//!
//! Text rules guess from what the model wrote; a value concluded like an
//! answer may be an intermediate one. A probe (Dynasor-CoT, DEER) appends
//! "**Final Answer** \boxed{" to the reasoning so far and lets the model
//! write a few tokens: what it would answer now, and, from the
//! log-probabilities, how sure it is. The rule asks for probes and decides
//! from their answers; the caller runs them (see [`crate::probe`]).
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::probe::{ProbeOutcome, ProbeRequest, PROBE_MAX_TOKENS};
use crate::text::{normalize, Event};
use crate::PolicyError;

/// Dynasor-CoT's probe suffix.
pub const DYNASOR_SUFFIX: &str =
    "... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{";
/// DEER's answer-inducing suffix (the brace opened for the model).
pub const DEER_SUFFIX: &str = "\n**Final Answer**\n\\boxed{";

/// When probes are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeMode {
    /// When another text rule wants to brake: brake only if the probe
    /// answers the value the monitor believes.
    #[default]
    Confirm,
    /// Every `every_tokens` (Dynasor-CoT): brake when the last `agree`
    /// answers are equal and unhedged.
    Periodic,
    /// At each step opened by a hesitation marker (DEER): brake when the
    /// probe's confidence reaches `min_confidence`.
    Markers,
}

/// `{ kind = "probe", ... }` in config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    #[serde(default)]
    pub mode: ProbeMode,
    /// Periodic: tokens between probes. Confirm: tokens after a refused
    /// probe before another rule's proposal is probed again (default 64).
    #[serde(default = "every_tokens")]
    pub every_tokens: u32,
    /// Periodic: equal answers in a row needed (default 3).
    #[serde(default = "agree")]
    pub agree: u32,
    /// Confirm and markers: least mean token probability of the probe's
    /// answer (default 0.9). Confirm ignores it where the backend gives no
    /// log-probabilities; markers cannot brake without them.
    #[serde(default = "min_confidence")]
    pub min_confidence: f64,
    /// Probes per request at most (default 8): their cost is bounded.
    #[serde(default = "max_probes")]
    pub max_probes: u32,
    /// Appended to the reasoning to elicit the answer; default Dynasor's
    /// suffix (DEER's in `markers` mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default)]
    pub min_tokens: u64,
}

fn every_tokens() -> u32 {
    64
}
fn agree() -> u32 {
    3
}
fn min_confidence() -> f64 {
    0.9
}
fn max_probes() -> u32 {
    8
}

impl ProbeSpec {
    /// The suffix in use.
    pub fn suffix(&self) -> &str {
        match (&self.suffix, self.mode) {
            (Some(s), _) => s,
            (None, ProbeMode::Markers) => DEER_SUFFIX,
            (None, _) => DYNASOR_SUFFIX,
        }
    }

    pub fn validate(&self, path: &str) -> Result<(), PolicyError> {
        let bad = |key: &str, message: &str| {
            Err(PolicyError::InvalidParameter {
                path: format!("{path}.{key}"),
                message: message.into(),
            })
        };
        if !(8..=65_536).contains(&self.every_tokens) {
            return bad("every_tokens", "must be between 8 and 65536");
        }
        if !(1..=16).contains(&self.agree) {
            return bad("agree", "must be between 1 and 16");
        }
        if !(self.min_confidence > 0.0 && self.min_confidence <= 1.0) {
            return bad("min_confidence", "must be in (0, 1]");
        }
        if !(1..=1024).contains(&self.max_probes) {
            return bad("max_probes", "must be between 1 and 1024");
        }
        if self.suffix().trim().is_empty() || self.suffix().len() > 1024 {
            return bad("suffix", "must be 1 to 1024 bytes, not blank");
        }
        Ok(())
    }
}

/// A probe in flight, and what it was asked for.
#[derive(Debug, Clone)]
enum Asked {
    /// Another rule's proposal: its kind, reason and the believed answer.
    Confirm {
        rule: &'static str,
        reason: String,
        believed: Option<String>,
    },
    Periodic,
    Markers,
}

/// What a probe's outcome decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Continue,
    /// Brake as `rule` (the probe, or a proposal passed through unconfirmed)
    /// with this reason and answer.
    Brake {
        rule: &'static str,
        reason: String,
        answer: Option<String>,
    },
}

/// The probe rule's state for one reasoning stream.
#[derive(Debug)]
pub struct Probe {
    spec: ProbeSpec,
    asked: Option<Asked>,
    probes: u32,
    /// Tokens before which no probe is asked.
    quiet_until: u64,
    /// The last `agree` answers, normalised and as written (`None`: none,
    /// or hedged).
    recent: VecDeque<Option<(String, String)>>,
    /// The backend cannot probe: confirm passes proposals through, the
    /// other modes are inert.
    unsupported: bool,
    /// Characters before the current step (markers mode probes from there).
    step_start: u64,
    /// The current step opened with a hesitation already probed.
    step_probed: bool,
}

impl Probe {
    pub fn new(spec: ProbeSpec) -> Self {
        let quiet_until = match spec.mode {
            ProbeMode::Periodic => u64::from(spec.every_tokens).max(spec.min_tokens),
            _ => spec.min_tokens,
        };
        Probe {
            spec,
            asked: None,
            probes: 0,
            quiet_until,
            recent: VecDeque::new(),
            unsupported: false,
            step_start: 0,
            step_probed: false,
        }
    }

    /// Whether a proposal of rule `kind` must be confirmed first. A budget
    /// is a hard cap and never waits for a probe.
    pub fn gates(&self, kind: &str) -> bool {
        self.spec.mode == ProbeMode::Confirm && !self.unsupported && kind != "budget"
    }

    fn can_ask(&self, tokens: u64) -> bool {
        !self.unsupported
            && self.asked.is_none()
            && self.probes < self.spec.max_probes
            && tokens >= self.quiet_until
    }

    fn ask(&mut self, asked: Asked, reason: String, upto_chars: u64) -> ProbeRequest {
        let trigger = match asked {
            Asked::Confirm { .. } => "confirm",
            Asked::Periodic => "periodic",
            Asked::Markers => "markers",
        };
        self.asked = Some(asked);
        self.probes += 1;
        ProbeRequest {
            trigger,
            reason,
            upto_chars,
            suffix: self.spec.suffix().to_string(),
            max_tokens: PROBE_MAX_TOKENS,
        }
    }

    /// Another rule wants to brake at `ctx`, believing `believed`.
    pub fn propose(
        &mut self,
        rule: &'static str,
        reason: String,
        believed: Option<String>,
        ctx: &Ctx,
    ) -> Option<ProbeRequest> {
        if !self.can_ask(ctx.tokens) {
            return None;
        }
        let why = format!("{rule} proposes to brake: {reason}");
        let asked = Asked::Confirm {
            rule,
            reason,
            believed,
        };
        Some(self.ask(asked, why, ctx.chars))
    }

    /// Markers mode: a step that opens with a hesitation asks a probe with
    /// the reasoning before that step, as DEER does at each "Wait".
    pub fn on_event(&mut self, event: &Event<'_>, ctx: &Ctx) -> Option<ProbeRequest> {
        if self.spec.mode != ProbeMode::Markers {
            return None;
        }
        match event {
            Event::Step(_) => {
                self.step_start = ctx.chars.saturating_sub(1);
                self.step_probed = false;
                None
            }
            Event::Marker(hit) if hit.opening && hit.sbt && !self.step_probed => {
                self.step_probed = true;
                if !self.can_ask(ctx.tokens) || self.step_start == 0 {
                    return None;
                }
                let reason = format!("step {} opens with a hesitation", ctx.step);
                Some(self.ask(Asked::Markers, reason, self.step_start))
            }
            _ => None,
        }
    }

    /// Periodic mode: a probe every `every_tokens`.
    pub fn on_tokens(&mut self, ctx: &Ctx) -> Option<ProbeRequest> {
        if self.spec.mode != ProbeMode::Periodic || !self.can_ask(ctx.tokens) {
            return None;
        }
        self.quiet_until = ctx.tokens + u64::from(self.spec.every_tokens);
        let reason = format!("{} reasoning tokens", ctx.tokens);
        Some(self.ask(Asked::Periodic, reason, ctx.chars))
    }

    /// The outcome of the probe in flight, at `tokens` reasoning tokens.
    pub fn outcome(&mut self, outcome: &ProbeOutcome, tokens: u64) -> Decision {
        let Some(asked) = self.asked.take() else {
            return Decision::Continue;
        };
        let answer = match outcome {
            ProbeOutcome::Unsupported => {
                self.unsupported = true;
                return match asked {
                    Asked::Confirm {
                        rule,
                        reason,
                        believed,
                    } => Decision::Brake {
                        rule,
                        reason: format!("{reason} (unconfirmed: the backend cannot probe)"),
                        answer: believed,
                    },
                    _ => Decision::Continue,
                };
            }
            ProbeOutcome::Failed => None,
            ProbeOutcome::Answer(a) => Some(a.read(self.spec.suffix())),
        };
        let sure = |c: Option<f64>| c.is_none_or(|c| c >= self.spec.min_confidence);
        let brake = |reason: String, answer: &str| Decision::Brake {
            rule: "probe",
            reason,
            answer: Some(answer.to_string()),
        };
        let p = |c: Option<f64>| c.map_or(String::new(), |c| format!(" (p = {c:.2})"));
        match (asked, answer) {
            (
                Asked::Confirm {
                    rule,
                    reason,
                    believed,
                },
                Some(read),
            ) => {
                let agrees = match (&read.answer, &believed) {
                    (Some(a), Some(b)) => normalize(a) == normalize(b),
                    _ => false,
                };
                if agrees && !read.hedged && sure(read.confidence) {
                    let a = read.answer.unwrap_or_default();
                    return brake(
                        format!(
                            "{rule} proposed ({reason}); the probe answers {a}{}",
                            p(read.confidence)
                        ),
                        &a,
                    );
                }
                self.quiet_until = tokens + u64::from(self.spec.every_tokens);
                Decision::Continue
            }
            (Asked::Confirm { .. }, None) => {
                self.quiet_until = tokens + u64::from(self.spec.every_tokens);
                Decision::Continue
            }
            (Asked::Periodic, read) => {
                let a = read.and_then(|r| r.answer.filter(|_| !r.hedged));
                self.recent.push_back(a.map(|a| (normalize(&a), a)));
                while self.recent.len() > self.spec.agree as usize {
                    self.recent.pop_front();
                }
                let first = self.recent.front().cloned().flatten().map(|(n, _)| n);
                let agreed = self.recent.len() == self.spec.agree as usize
                    && self
                        .recent
                        .iter()
                        .all(|r| r.as_ref().map(|(n, _)| n) == first.as_ref());
                match (agreed, self.recent.back().cloned().flatten()) {
                    (true, Some((_, a))) => brake(
                        format!("the last {} probes all answer {a}", self.spec.agree),
                        &a,
                    ),
                    _ => Decision::Continue,
                }
            }
            (Asked::Markers, Some(read)) => match (&read.answer, read.confidence) {
                (Some(a), Some(c)) if !read.hedged && c >= self.spec.min_confidence => brake(
                    format!("at a hesitation the probe answers {a}{}", p(Some(c))),
                    a,
                ),
                _ => Decision::Continue,
            },
            (Asked::Markers, None) => Decision::Continue,
        }
    }

    /// Probes asked so far.
    pub fn probes(&self) -> u32 {
        self.probes
    }
}
