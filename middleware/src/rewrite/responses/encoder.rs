//! The Responses API's event stream for a braked request: named SSE events
//! (`event: response.reasoning_text.delta` then its `data:`), each with a
//! `sequence_number`, as OpenAI and vLLM send them.
use serde_json::{json, Value};

use super::ResponseState;
use crate::error::ProxyError;
use crate::session::SessionEvent;
use selfbrake_adapters::BackendEvent;

/// Which output item is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Nothing,
    Reasoning,
    Message,
}

/// Turns session events into Responses API events.
#[derive(Debug)]
pub struct ResponsesEncoder {
    state: ResponseState,
    sequence: u64,
    started: bool,
    open: Open,
}

impl ResponsesEncoder {
    pub fn new(model: Option<&str>) -> Self {
        ResponsesEncoder {
            state: ResponseState::new(model),
            sequence: 0,
            started: false,
            open: Open::Nothing,
        }
    }

    /// The SSE text for one session event (empty when it shows nothing).
    pub fn encode(&mut self, event: SessionEvent) -> String {
        let mut out = String::new();
        self.encode_into(event, &mut out);
        out
    }

    /// Appends the SSE text for one session event to `out`: the events of
    /// one upstream read share one buffer and one write.
    pub fn encode_into(&mut self, event: SessionEvent, out: &mut String) {
        if let SessionEvent::Delta(BackendEvent::Meta { id, created, .. }) = &event {
            self.state.identify(id, *created);
        }
        if !self.started {
            self.started = true;
            let response = self.state.object("in_progress");
            self.emit(
                out,
                json!({"type": "response.created", "response": response}),
            );
            let response = self.state.object("in_progress");
            self.emit(
                out,
                json!({"type": "response.in_progress", "response": response}),
            );
        }
        match event {
            SessionEvent::Delta(BackendEvent::Reasoning(delta)) if self.open != Open::Message => {
                if self.open == Open::Nothing {
                    self.open_reasoning(out);
                }
                self.state.reasoning.push_str(&delta);
                let item_id = self.state.reasoning_id();
                self.emit(
                    out,
                    json!({"type": "response.reasoning_text.delta",
                    "item_id": item_id, "output_index": 0, "content_index": 0, "delta": delta}),
                );
            }
            SessionEvent::Delta(BackendEvent::Content(delta)) => {
                self.open_message(out);
                self.state.text.push_str(&delta);
                let (item_id, index) = (self.state.message_id(), self.state.message_index());
                self.emit(
                    out,
                    json!({"type": "response.output_text.delta",
                    "item_id": item_id, "output_index": index, "content_index": 0,
                    "delta": delta, "logprobs": []}),
                );
            }
            SessionEvent::End(summary) => {
                self.state.summary = Some(*summary);
                self.open_message(out);
                self.close(out);
                let status = self.state.final_status();
                let kind = format!("response.{status}");
                let response = self.state.object(status);
                self.emit(out, json!({"type": kind, "response": response}));
            }
            SessionEvent::Failed(error) => self.fail(out, &error),
            // Reasoning after the answer started, tool calls (requests with
            // tools pass through) and unknown delta keys have no place here.
            SessionEvent::Delta(_) => {}
        }
    }

    fn open_reasoning(&mut self, out: &mut String) {
        self.open = Open::Reasoning;
        let item_id = self.state.reasoning_id();
        self.emit(
            out,
            json!({"type": "response.output_item.added", "output_index": 0,
            "item": {"type": "reasoning", "id": item_id, "summary": [], "content": []}}),
        );
        self.emit(
            out,
            json!({"type": "response.content_part.added", "item_id": item_id,
            "output_index": 0, "content_index": 0,
            "part": {"type": "reasoning_text", "text": ""}}),
        );
    }

    /// Opens the message item (closing the reasoning item) unless it is open.
    fn open_message(&mut self, out: &mut String) {
        if self.open == Open::Message {
            return;
        }
        self.close(out);
        self.open = Open::Message;
        let (item_id, index) = (self.state.message_id(), self.state.message_index());
        self.emit(
            out,
            json!({"type": "response.output_item.added", "output_index": index,
            "item": {"type": "message", "id": item_id, "role": "assistant",
                "status": "in_progress", "content": []}}),
        );
        self.emit(
            out,
            json!({"type": "response.content_part.added", "item_id": item_id,
            "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}}),
        );
    }

    fn close(&mut self, out: &mut String) {
        match self.open {
            Open::Nothing => {}
            Open::Reasoning => {
                let (item_id, text) = (self.state.reasoning_id(), self.state.reasoning.clone());
                self.emit(
                    out,
                    json!({"type": "response.reasoning_text.done", "item_id": item_id,
                    "output_index": 0, "content_index": 0, "text": text}),
                );
                self.emit(
                    out,
                    json!({"type": "response.content_part.done", "item_id": item_id,
                    "output_index": 0, "content_index": 0,
                    "part": {"type": "reasoning_text", "text": text}}),
                );
                let item = self.state.reasoning_item();
                self.emit(
                    out,
                    json!({"type": "response.output_item.done", "output_index": 0,
                    "item": item}),
                );
            }
            Open::Message => {
                let (item_id, index) = (self.state.message_id(), self.state.message_index());
                let text = self.state.text.clone();
                self.emit(
                    out,
                    json!({"type": "response.output_text.done", "item_id": item_id,
                    "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                );
                self.emit(
                    out,
                    json!({"type": "response.content_part.done", "item_id": item_id,
                    "output_index": index, "content_index": 0,
                    "part": {"type": "output_text", "text": text, "annotations": []}}),
                );
                let item = self.state.message_item("completed");
                self.emit(
                    out,
                    json!({"type": "response.output_item.done", "output_index": index,
                    "item": item}),
                );
            }
        }
        self.open = Open::Nothing;
    }

    fn fail(&mut self, out: &mut String, error: &ProxyError) {
        let mut response = self.state.object("failed");
        response["error"] = json!({"code": error.code(), "message": error.client_message()});
        self.emit(
            out,
            json!({"type": "response.failed", "response": response}),
        );
    }

    fn emit(&mut self, out: &mut String, mut event: Value) {
        event["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        let kind = event["type"].as_str().unwrap_or("message").to_string();
        out.push_str("event: ");
        out.push_str(&kind);
        out.push_str("\ndata: ");
        out.push_str(&event.to_string());
        out.push_str("\n\n");
    }
}
