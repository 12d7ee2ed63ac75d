//! What a braked `/v1/responses` request has produced so far, rendered as
//! the Responses API's `response` object: a reasoning item (the reasoning
//! up to the cut and the brake statement), then the message.
use serde_json::{json, Value};

use super::super::identity::now_secs;
use crate::session::Summary;

/// The response as it builds up, shared by the streamed and the whole form.
#[derive(Debug)]
pub struct ResponseState {
    /// The id suffix shared by the response and its items.
    key: String,
    model: String,
    created_at: u64,
    pub(super) reasoning: String,
    pub(super) text: String,
    pub(super) summary: Option<Summary>,
}

impl ResponseState {
    /// `model` is the name the client asked for.
    pub fn new(model: Option<&str>) -> Self {
        let created_at = now_secs();
        ResponseState {
            key: format!("sb{created_at:x}{:x}", std::process::id()),
            model: model.unwrap_or("unknown").to_string(),
            created_at,
            reasoning: String::new(),
            text: String::new(),
            summary: None,
        }
    }

    /// Takes the upstream completion's identity: `chatcmpl-X` answers as `resp_X`.
    pub fn identify(&mut self, id: &str, created: u64) {
        let key = id.strip_prefix("chatcmpl-").unwrap_or(id);
        if !key.is_empty() {
            self.key = key.to_string();
        }
        self.created_at = created;
    }

    pub fn reasoning_id(&self) -> String {
        format!("rs_{}", self.key)
    }

    pub fn message_id(&self) -> String {
        format!("msg_{}", self.key)
    }

    /// Where the message item sits: after the reasoning item, if any.
    pub fn message_index(&self) -> usize {
        usize::from(!self.reasoning.is_empty())
    }

    pub fn reasoning_item(&self) -> Value {
        json!({"type": "reasoning", "id": self.reasoning_id(), "summary": [],
            "content": [{"type": "reasoning_text", "text": self.reasoning}]})
    }

    pub fn message_item(&self, status: &str) -> Value {
        json!({"type": "message", "id": self.message_id(), "role": "assistant",
            "status": status,
            "content": [{"type": "output_text", "text": self.text, "annotations": []}]})
    }

    /// The `response` object. `status` is `in_progress` while streaming,
    /// then `completed`, `incomplete` (the token limit was reached) or
    /// `failed`; `output` is left empty while in progress.
    pub fn object(&self, status: &str) -> Value {
        let mut output = Vec::new();
        if status != "in_progress" {
            if !self.reasoning.is_empty() {
                output.push(self.reasoning_item());
            }
            if !self.text.is_empty() || self.reasoning.is_empty() {
                output.push(self.message_item("completed"));
            }
        }
        let summary = self.summary.as_ref();
        let usage = summary.map(|s| {
            let u = &s.usage;
            json!({"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens,
                "total_tokens": u.total_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens.unwrap_or(0)}})
        });
        let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
        let mut object = json!({
            "id": format!("resp_{}", self.key), "object": "response",
            "created_at": self.created_at, "model": self.model, "status": status,
            "output": output, "usage": usage, "incomplete_details": incomplete,
            "error": null, "parallel_tool_calls": false, "tool_choice": "none", "tools": [],
        });
        if let Some(summary) = summary {
            object["selfbrake"] = json!(summary.report);
        }
        object
    }

    /// The final status, from how the session ended.
    pub fn final_status(&self) -> &'static str {
        match self.summary.as_ref().map(|s| s.finish_reason.as_str()) {
            Some("length") => "incomplete",
            _ => "completed",
        }
    }
}
