use crate::ProbeRequest;

/// What the monitor says after each delta.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Continue,
    Brake(Brake),
    /// Keep the reasoning going, and run this probe beside it; hand its
    /// outcome to [`Monitor::probe_result`](crate::Monitor::probe_result).
    /// At most one is in flight: no other is asked until that outcome.
    Probe(ProbeRequest),
}

/// Why the monitor decided to stop the reasoning.
#[derive(Debug, Clone, PartialEq)]
pub struct Brake {
    /// The rule that fired (its `kind` in config).
    pub rule: &'static str,
    /// A short human-readable explanation, for logs and the `selfbrake` object.
    pub reason: String,
    /// The answer the monitor believes the reasoning reached, if any; used by
    /// `on_brake = "extract"`.
    pub answer: Option<String>,
    /// Reasoning tokens observed up to and including the delta that fired.
    pub tokens: u64,
}
