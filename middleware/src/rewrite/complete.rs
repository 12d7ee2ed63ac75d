use serde_json::{json, Map, Value};

use super::encoder::{merge_tool_call, usage_json};
use super::identity::{fallback_id, now_secs};
use crate::config::ReasoningField;
use crate::error::ProxyError;
use selfbrake_adapters::BackendEvent;

use crate::session::{SessionEvent, Summary};

/// Builds the non-stream response from the same session events the stream gets.
#[derive(Debug)]
pub struct CompletionBuilder {
    reasoning_field: ReasoningField,
    id: Option<String>,
    model: String,
    created: u64,
    reasoning: String,
    content: String,
    tool_calls: Vec<Map<String, Value>>,
    extra: Map<String, Value>,
    summary: Option<Summary>,
}

impl CompletionBuilder {
    pub fn new(reasoning_field: ReasoningField, model: Option<&str>) -> Self {
        Self {
            reasoning_field,
            id: None,
            model: model.unwrap_or("unknown").to_string(),
            created: now_secs(),
            reasoning: String::new(),
            content: String::new(),
            tool_calls: Vec::new(),
            extra: Map::new(),
            summary: None,
        }
    }

    /// Takes one event; a failure ends the response with an error.
    pub fn push(&mut self, event: SessionEvent) -> Result<(), ProxyError> {
        match event {
            SessionEvent::Delta(BackendEvent::Meta { id, model, created }) => {
                if self.id.is_none() {
                    self.id = Some(id);
                    self.model = model;
                    self.created = created;
                }
            }
            SessionEvent::Delta(BackendEvent::Reasoning(text)) => self.reasoning.push_str(&text),
            SessionEvent::Delta(BackendEvent::Content(text)) => self.content.push_str(&text),
            SessionEvent::Delta(BackendEvent::ToolCall(call)) => {
                merge_tool_call(&mut self.tool_calls, call)?
            }
            SessionEvent::Delta(BackendEvent::Extra(fields)) => {
                for (key, value) in fields {
                    match (self.extra.get_mut(&key), value) {
                        (Some(Value::String(existing)), Value::String(more)) => {
                            existing.push_str(&more)
                        }
                        (_, value) => {
                            self.extra.insert(key, value);
                        }
                    }
                }
            }
            // Folded into `End` by the session; never sent on their own.
            SessionEvent::Delta(BackendEvent::Finish(_) | BackendEvent::Usage(_)) => {}
            SessionEvent::End(summary) => self.summary = Some(*summary),
            SessionEvent::Failed(error) => return Err(error),
        }
        Ok(())
    }

    /// The `chat.completion` object.
    pub fn finish(self) -> Result<Value, ProxyError> {
        let summary = self
            .summary
            .ok_or_else(|| ProxyError::Internal("session ended without a summary".into()))?;
        let mut message = self.extra;
        message.insert("role".into(), "assistant".into());
        let content = if self.content.is_empty() && !self.tool_calls.is_empty() {
            Value::Null
        } else {
            Value::String(self.content)
        };
        message.insert("content".into(), content);
        let reasoning = Value::String(self.reasoning);
        match self.reasoning_field {
            ReasoningField::ReasoningContent => {
                message.insert("reasoning_content".into(), reasoning);
            }
            ReasoningField::Reasoning => {
                message.insert("reasoning".into(), reasoning);
            }
            ReasoningField::Both => {
                message.insert("reasoning_content".into(), reasoning.clone());
                message.insert("reasoning".into(), reasoning);
            }
        }
        if !self.tool_calls.is_empty() {
            let calls = self.tool_calls.into_iter().map(Value::Object).collect();
            message.insert("tool_calls".into(), Value::Array(calls));
        }
        let id = self.id.unwrap_or_else(|| fallback_id(self.created));
        Ok(json!({
            "id": id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": summary.finish_reason,
            }],
            "usage": usage_json(&summary),
            "selfbrake": summary.report,
        }))
    }
}
