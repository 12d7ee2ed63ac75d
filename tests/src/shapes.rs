//! The mock's answers on `/v1/responses` and `/v1/messages`, in the shapes
//! vLLM serves them (OpenAI's Responses API, Anthropic's Messages API),
//! streamed and not, so that the official clients can parse them.
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

const REASONING: &str = "Two plus two is four.";
const ANSWER: &str = "The answer is 4.";

/// `POST /v1/responses`: a reasoning item, then the message.
pub(crate) fn responses(model: &Value, stream: bool) -> Response {
    let reasoning = json!({"type": "reasoning", "id": "rs_mock", "summary": [],
        "content": [{"type": "reasoning_text", "text": REASONING}]});
    let message = json!({"type": "message", "id": "msg_mock", "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": ANSWER, "annotations": []}]});
    let response = |status: &str, output: Value| {
        json!({"id": "resp_mock", "object": "response", "created_at": 1_764_000_000,
            "model": model, "status": status, "output": output,
            "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 5, "output_tokens": 9, "total_tokens": 14,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 5}}})
    };
    if !stream {
        return Json(response("completed", json!([reasoning, message]))).into_response();
    }
    let mut events = vec![
        json!({"type": "response.created", "sequence_number": 0,
            "response": response("in_progress", json!([]))}),
        json!({"type": "response.output_item.added", "output_index": 0,
            "item": {"type": "reasoning", "id": "rs_mock", "summary": [], "content": []}}),
    ];
    for word in REASONING.split_inclusive(' ') {
        events.push(
            json!({"type": "response.reasoning_text.delta", "item_id": "rs_mock",
            "output_index": 0, "content_index": 0, "delta": word}),
        );
    }
    events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning}));
    events.push(
        json!({"type": "response.output_item.added", "output_index": 1,
        "item": {"type": "message", "id": "msg_mock", "role": "assistant",
            "status": "in_progress", "content": []}}),
    );
    for word in ANSWER.split_inclusive(' ') {
        events.push(
            json!({"type": "response.output_text.delta", "item_id": "msg_mock",
            "output_index": 1, "content_index": 0, "delta": word, "logprobs": []}),
        );
    }
    events.push(json!({"type": "response.output_item.done", "output_index": 1, "item": message}));
    events.push(json!({"type": "response.completed",
        "response": response("completed", json!([reasoning, message]))}));
    sse(events)
}

/// `POST /v1/messages`: one text block.
pub(crate) fn messages(model: &Value, stream: bool) -> Response {
    let message = |content: Value, stop: Value, output: u64| {
        json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop, "stop_sequence": null,
            "usage": {"input_tokens": 5, "output_tokens": output}})
    };
    if !stream {
        let content = json!([{"type": "text", "text": ANSWER}]);
        return Json(message(content, json!("end_turn"), 5)).into_response();
    }
    let mut events = vec![
        json!({"type": "message_start", "message": message(json!([]), Value::Null, 0)}),
        json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
    ];
    for word in ANSWER.split_inclusive(' ') {
        events.push(json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": word}}));
    }
    events.push(json!({"type": "content_block_stop", "index": 0}));
    events.push(json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null},
        "usage": {"output_tokens": 5}}));
    events.push(json!({"type": "message_stop"}));
    sse(events)
}

/// Named SSE events, as both APIs send them (`event:` then `data:`).
fn sse(events: Vec<Value>) -> Response {
    let mut out = String::new();
    for event in events {
        let name = event["type"].as_str().unwrap_or("message");
        out.push_str(&format!("event: {name}\ndata: {event}\n\n"));
    }
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from(out),
    )
        .into_response()
}
