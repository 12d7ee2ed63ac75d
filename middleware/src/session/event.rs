use selfbrake_adapters::{BackendEvent, Usage};
use serde::Serialize;

use crate::error::ProxyError;

/// What the session tells the response encoders. Deltas are the backend's
/// own events, passed on as they are; the backend's `Finish` and `Usage`
/// never appear on their own, since the session folds them, across both
/// upstream calls, into `End`.
#[derive(Debug)]
pub enum SessionEvent {
    Delta(BackendEvent),
    /// The last event of a successful session. Boxed: every event moves
    /// through the response's layers, and this one would make them all
    /// three times as large.
    End(Box<Summary>),
    /// The session failed after the response started; nothing follows.
    Failed(ProxyError),
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub finish_reason: String,
    pub usage: Usage,
    pub report: BrakeReport,
}

/// Where the answer the client got came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// The model answered in its own first generation (no brake).
    Model,
    /// The model answered in the continuation after a brake.
    Continuation,
    /// The monitor's last candidate answer (`on_brake = "extract"`, or a failed continuation).
    Extracted,
    /// No answer (`on_brake = "stop"`, or nothing to extract).
    None,
    /// A confident probe's answer (`on_brake = "probe_answer"`).
    Probe,
}

/// The `selfbrake` object of every response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrakeReport {
    pub braked: bool,
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub policy: String,
    pub reasoning_tokens: u64,
    pub answer_tokens: u64,
    pub answer_source: AnswerSource,
    /// Probes sent for this request (the `probe` rule).
    pub probes: u64,
    /// Their tokens, prompt and generated, as the backend billed them;
    /// also added to the response's usage.
    pub probe_tokens: u64,
}
