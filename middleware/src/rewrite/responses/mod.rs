//! Braking `/v1/responses`: a stateless, tool-free Responses API request is
//! run as the equivalent chat request through the session, and its events
//! are written back in the Responses API's shape (a reasoning item, then
//! the message; `response.reasoning_text.delta` events when streaming).
//!
//! ```
//! use selfbrake::rewrite::responses::to_chat;
//! use serde_json::json;
//!
//! let request = json!({"model": "r1", "input": "What is 2+2?", "max_output_tokens": 512});
//! let chat = to_chat(request.as_object().unwrap()).unwrap();
//! assert_eq!(chat["messages"], json!([{"role": "user", "content": "What is 2+2?"}]));
//! assert_eq!(chat["max_completion_tokens"], 512);
//!
//! // A request that builds on a stored response passes through unbraked.
//! let stateful = json!({"model": "r1", "input": "And 3+3?", "previous_response_id": "resp_1"});
//! assert!(to_chat(stateful.as_object().unwrap()).is_none());
//! ```
mod encoder;
mod request;
mod state;

pub use encoder::ResponsesEncoder;
pub use request::to_chat;
pub use state::ResponseState;

use crate::error::ProxyError;
use crate::session::SessionEvent;
use selfbrake_adapters::BackendEvent;

impl ResponseState {
    /// Takes one event of a non-streamed request; a failure ends it.
    pub fn push(&mut self, event: SessionEvent) -> Result<(), ProxyError> {
        match event {
            SessionEvent::Delta(BackendEvent::Meta { id, created, .. }) => {
                self.identify(&id, created)
            }
            SessionEvent::Delta(BackendEvent::Reasoning(text)) if self.text.is_empty() => {
                self.reasoning.push_str(&text)
            }
            SessionEvent::Delta(BackendEvent::Content(text)) => self.text.push_str(&text),
            SessionEvent::Delta(_) => {}
            SessionEvent::End(summary) => self.summary = Some(*summary),
            SessionEvent::Failed(error) => return Err(error),
        }
        Ok(())
    }

    /// The finished `response` object.
    pub fn finish(self) -> Result<serde_json::Value, ProxyError> {
        if self.summary.is_none() {
            return Err(ProxyError::Internal(
                "session ended without a summary".into(),
            ));
        }
        Ok(self.object(self.final_status()))
    }
}
