use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One normalised piece of an upstream streaming response.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    /// Identity of the upstream completion (from its first chunk).
    Meta {
        id: String,
        model: String,
        created: u64,
    },
    /// Reasoning text, with any `<think>` tags removed.
    Reasoning(String),
    /// Answer text.
    Content(String),
    /// One element of `delta.tool_calls`, untouched.
    ToolCall(Value),
    /// Delta fields this adapter does not know, untouched (passed on to the client).
    Extra(Map<String, Value>),
    /// `finish_reason` of choice 0.
    Finish(String),
    /// Token accounting of the whole upstream request.
    Usage(Usage),
}

/// OpenAI usage figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// `completion_tokens_details.reasoning_tokens`, where the engine reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}
