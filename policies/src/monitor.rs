use crate::rules::probe::{Decision, Probe};
use crate::rules::{self, Ctx, Detector};
use crate::text::{Event, Question, Scanner, Strength};
use crate::{Brake, PolicyError, ProbeOutcome, RuleSet, RuleSpec, Verdict};

#[derive(Debug)]
struct Armed {
    kind: &'static str,
    min_tokens: u64,
    detector: Box<dyn Detector>,
    /// A reason that came before `min_tokens`; it fires once they are reached.
    deferred: Option<String>,
}

/// Watches one reasoning stream and decides when to brake.
///
/// Rules compose as any-of: the first rule to fire brakes. After a brake the
/// monitor is latched and repeats the same verdict, so a caller that keeps
/// feeding (the tail of a delta, a late chunk) sees a stable answer.
#[derive(Debug)]
pub struct Monitor {
    rules: Vec<Armed>,
    scanner: Scanner,
    tokens: u64,
    answer: Option<String>,
    answer_strength: Option<Strength>,
    brake: Option<Brake>,
    cut_chars: Option<u64>,
    question: Option<Question>,
    /// The probe rule, kept apart from the text rules: it gates their
    /// brakes (`confirm`) or asks probes of its own.
    probe: Option<Probe>,
}

impl Monitor {
    /// Validates `rules` and arms them. See [`RuleSet`] to validate once
    /// and build many monitors.
    pub fn new(rules: &[RuleSpec]) -> Result<Self, PolicyError> {
        Ok(Self::with_rules(&RuleSet::new(rules.to_vec())?))
    }

    /// Arms rules that were validated when the set was made.
    pub fn with_rules(set: &RuleSet) -> Self {
        let armed = set
            .specs()
            .iter()
            .filter_map(|rule| {
                Some(Armed {
                    kind: rule.kind(),
                    min_tokens: rule.min_tokens(),
                    detector: rules::build(rule)?,
                    deferred: None,
                })
            })
            .collect();
        let probe = set.specs().iter().find_map(|rule| match rule {
            RuleSpec::Probe(spec) => Some(Probe::new(spec.clone())),
            _ => None,
        });
        Self {
            rules: armed,
            scanner: Scanner::new(),
            tokens: 0,
            answer: None,
            answer_strength: None,
            brake: None,
            cut_chars: None,
            question: None,
            probe,
        }
    }

    /// Tells the monitor the question being reasoned about (the last user
    /// message), before the reasoning streams. With it, a candidate that is
    /// a value the question gives, or a lone component of a question that
    /// asks for several values, is passed to the rules as
    /// [`Event::Dismissed`] rather than as an answer. Without it every
    /// candidate counts.
    pub fn with_question(mut self, question: &str) -> Self {
        self.set_question(question);
        self
    }

    /// As [`Monitor::with_question`], on a monitor already built.
    pub fn set_question(&mut self, question: &str) {
        self.question = Some(Question::parse(question));
    }

    /// Feeds one generated token's text.
    pub fn observe(&mut self, delta: &str) -> Verdict {
        self.observe_tokens(delta, 1)
    }

    /// Feeds a delta that holds `tokens` generated tokens.
    pub fn observe_tokens(&mut self, delta: &str, tokens: u32) -> Verdict {
        if let Some(b) = &self.brake {
            return Verdict::Brake(b.clone());
        }
        self.tokens += u64::from(tokens);
        let Self {
            rules,
            scanner,
            tokens: total,
            answer,
            answer_strength,
            question,
            probe,
            ..
        } = self;
        let mut fired: Option<(usize, String)> = None;
        let mut asked = None;
        for c in delta.chars() {
            let step = scanner.step();
            let chars = scanner.chars() + 1;
            let mut emit = |ev: Event<'_>| {
                let ev = match ev {
                    Event::Candidate(c)
                        if question.as_ref().is_some_and(|q| {
                            !q.admits(&c.normalized, c.strength == Strength::Boxed)
                        }) =>
                    {
                        Event::Dismissed(c)
                    }
                    ev => ev,
                };
                if let Event::Candidate(cand) = &ev {
                    if answer_strength.is_none_or(|s| cand.strength >= s || s == Strength::Equation)
                    {
                        *answer = Some(cand.raw.clone());
                        *answer_strength = Some(cand.strength);
                    }
                }
                let ctx = Ctx {
                    tokens: *total,
                    chars,
                    step: if matches!(ev, Event::Step(_)) {
                        step + 1
                    } else {
                        step
                    },
                };
                if let Some(p) = probe.as_mut() {
                    asked = asked.take().or_else(|| p.on_event(&ev, &ctx));
                }
                for (i, r) in rules.iter_mut().enumerate() {
                    if let Some(reason) = r.detector.on_event(&ev, &ctx) {
                        if fired.is_none() && ctx.tokens >= r.min_tokens {
                            match probe.as_mut().filter(|p| p.gates(r.kind)) {
                                Some(p) if asked.is_none() => {
                                    let believed = r.detector.answer().map(str::to_string);
                                    let believed = believed.or_else(|| answer.clone());
                                    asked = p.propose(r.kind, reason, believed, &ctx);
                                }
                                Some(_) => {}
                                None => fired = Some((i, reason)),
                            }
                        } else if r.deferred.is_none() {
                            r.deferred = Some(reason);
                        }
                    }
                }
            };
            scanner.push(c, &mut emit);
            if fired.is_some() {
                break;
            }
        }
        if fired.is_none() {
            let ctx = Ctx {
                tokens: *total,
                chars: scanner.chars(),
                step: scanner.step(),
            };
            for (i, r) in rules.iter_mut().enumerate() {
                let reason = r.detector.on_tokens(tokens, &ctx).or_else(|| {
                    (ctx.tokens >= r.min_tokens)
                        .then(|| r.deferred.take())
                        .flatten()
                });
                let Some(reason) = reason.filter(|_| ctx.tokens >= r.min_tokens) else {
                    continue;
                };
                match probe.as_mut().filter(|p| p.gates(r.kind)) {
                    Some(p) if asked.is_none() => {
                        let believed = r.detector.answer().map(str::to_string);
                        let believed = believed.or_else(|| answer.clone());
                        asked = p.propose(r.kind, reason, believed, &ctx);
                    }
                    Some(_) => {}
                    None => {
                        fired = Some((i, reason));
                        break;
                    }
                }
            }
            if fired.is_none() && asked.is_none() {
                asked = probe.as_mut().and_then(|p| p.on_tokens(&ctx));
            }
        }
        match fired {
            Some((i, reason)) => {
                let rule = &self.rules[i];
                let brake = Brake {
                    rule: rule.kind,
                    reason,
                    answer: rule
                        .detector
                        .answer()
                        .map(str::to_string)
                        .or_else(|| self.answer.clone()),
                    tokens: self.tokens,
                };
                self.cut_chars = Some(self.scanner.chars());
                self.brake = Some(brake.clone());
                Verdict::Brake(brake)
            }
            None => asked.map_or(Verdict::Continue, Verdict::Probe),
        }
    }

    /// The outcome of the probe asked with [`Verdict::Probe`]: the probe
    /// rule brakes on it or lets the reasoning go on. A caller whose
    /// backend cannot probe answers [`ProbeOutcome::Unsupported`], and the
    /// policy then works as if it had no probe rule.
    pub fn probe_result(&mut self, outcome: &ProbeOutcome) -> Verdict {
        if let Some(b) = &self.brake {
            return Verdict::Brake(b.clone());
        }
        let Some(probe) = self.probe.as_mut() else {
            return Verdict::Continue;
        };
        match probe.outcome(outcome, self.tokens) {
            Decision::Continue => Verdict::Continue,
            Decision::Brake {
                rule,
                reason,
                answer,
            } => {
                let brake = Brake {
                    rule,
                    reason,
                    answer: answer.or_else(|| self.answer.clone()),
                    tokens: self.tokens,
                };
                self.cut_chars = Some(self.scanner.chars());
                self.brake = Some(brake.clone());
                Verdict::Brake(brake)
            }
        }
    }

    /// Probes asked so far.
    pub fn probes(&self) -> u32 {
        self.probe.as_ref().map_or(0, Probe::probes)
    }

    /// The latest candidate answer seen in the reasoning, as written. A
    /// stated or boxed answer is not displaced by a later `= X` equation,
    /// which is more often an intermediate result.
    pub fn answer(&self) -> Option<&str> {
        self.answer.as_deref()
    }

    /// Reasoning tokens observed so far.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Characters of reasoning consumed when the brake fired: the text-driven
    /// rules fire inside a delta, at the character that completed the answer
    /// or step, and this does not depend on how the text was split.
    pub fn cut_chars(&self) -> Option<u64> {
        self.cut_chars
    }

    /// Whether the monitor has braked.
    pub fn braked(&self) -> Option<&Brake> {
        self.brake.as_ref()
    }
}
