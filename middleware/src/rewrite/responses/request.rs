//! A Responses API request (`POST /v1/responses`) as the chat request the
//! session brakes: the same conversation, limits and reasoning effort.
//!
//! Only stateless, tool-free requests are translated. The rest (a
//! `previous_response_id` or `conversation` the backend keeps, tools,
//! background runs, stored prompts, structured output, function-call
//! items in the input) pass through unbraked: their meaning lives in the
//! backend's own Responses implementation.
use serde_json::{json, Map, Value};

/// Keys whose meaning a chat request cannot carry.
const STATEFUL_OR_TOOLS: &[&str] = &[
    "previous_response_id",
    "conversation",
    "tools",
    "tool_choice",
    "background",
    "prompt",
    "include",
];

/// Keys of the Responses API with no chat counterpart that change nothing
/// for a stateless, tool-free request.
const DROPPED: &[&str] = &[
    "store",
    "metadata",
    "parallel_tool_calls",
    "truncation",
    "text",
    "max_tool_calls",
    "service_tier",
    "safety_identifier",
    "prompt_cache_key",
];

/// The chat request for `body`, or `None` where it must pass through.
pub fn to_chat(body: &Map<String, Value>) -> Option<Map<String, Value>> {
    if STATEFUL_OR_TOOLS
        .iter()
        .any(|k| body.get(*k).is_some_and(|v| !is_empty(v)))
    {
        return None;
    }
    if let Some(format) = body.get("text").and_then(|t| t.get("format")) {
        if format.get("type").and_then(Value::as_str) != Some("text") {
            return None;
        }
    }
    let mut messages = Vec::new();
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    match body.get("input")? {
        Value::String(text) => messages.push(json!({"role": "user", "content": text})),
        Value::Array(items) => {
            for item in items {
                messages.push(message(item)?);
            }
        }
        _ => return None,
    }
    let mut chat = Map::new();
    for (key, value) in body {
        match key.as_str() {
            "input" | "instructions" => {}
            "max_output_tokens" => {
                chat.insert("max_completion_tokens".into(), value.clone());
            }
            "reasoning" => {
                if let Some(effort) = value.get("effort").filter(|e| e.is_string()) {
                    chat.insert("reasoning_effort".into(), effort.clone());
                }
            }
            k if DROPPED.contains(&k) || STATEFUL_OR_TOOLS.contains(&k) => {}
            // Sampling and engine keys (`temperature`, `top_p`, `seed`,
            // vLLM's `top_k`, …) mean the same in a chat request.
            _ => {
                chat.insert(key.clone(), value.clone());
            }
        }
    }
    chat.insert("messages".into(), Value::Array(messages));
    Some(chat)
}

/// One input item as a chat message: `{role, content}` with text (and
/// image) parts; anything else (function calls and their outputs,
/// reasoning items) cannot be translated.
fn message(item: &Value) -> Option<Value> {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    let role = item.get("role").and_then(Value::as_str)?;
    if kind != "message" || !matches!(role, "user" | "assistant" | "system" | "developer") {
        return None;
    }
    let role = if role == "developer" { "system" } else { role };
    let content = match item.get("content")? {
        Value::String(text) => Value::String(text.clone()),
        Value::Array(parts) => Value::Array(parts.iter().map(part).collect::<Option<_>>()?),
        _ => return None,
    };
    Some(json!({"role": role, "content": content}))
}

fn part(part: &Value) -> Option<Value> {
    match part.get("type").and_then(Value::as_str)? {
        "input_text" | "output_text" => {
            Some(json!({"type": "text", "text": part.get("text")?.as_str()?}))
        }
        "input_image" => {
            let url = part.get("image_url")?.as_str()?;
            Some(json!({"type": "image_url", "image_url": {"url": url}}))
        }
        _ => None,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> Option<Value> {
        to_chat(body.as_object().unwrap()).map(Value::Object)
    }

    #[test]
    fn a_plain_request_becomes_the_same_conversation() {
        let c = chat(json!({
            "model": "r1", "instructions": "Be brief.", "input": "What is 2+2?",
            "max_output_tokens": 256, "reasoning": {"effort": "low"},
            "temperature": 0.6, "stream": true, "store": false
        }))
        .unwrap();
        assert_eq!(
            c["messages"],
            json!([{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "What is 2+2?"}])
        );
        assert_eq!(c["max_completion_tokens"], 256);
        assert_eq!(c["reasoning_effort"], "low");
        assert_eq!(c["temperature"], 0.6);
        assert_eq!(c["stream"], true);
        assert!(c.get("store").is_none() && c.get("input").is_none());
    }

    #[test]
    fn message_items_and_their_parts_are_translated() {
        let c = chat(json!({"model": "r1", "input": [
            {"role": "developer", "content": "Think."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is in this image?"},
                {"type": "input_image", "image_url": "https://x/y.png"}]}
        ]}))
        .unwrap();
        assert_eq!(
            c["messages"][0],
            json!({"role": "system", "content": "Think."})
        );
        assert_eq!(
            c["messages"][1]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "https://x/y.png"}})
        );
    }

    #[test]
    fn stateful_and_tool_requests_pass_through() {
        for body in [
            json!({"model": "r1", "input": "x", "previous_response_id": "resp_1"}),
            json!({"model": "r1", "input": "x", "tools": [{"type": "function", "name": "f"}]}),
            json!({"model": "r1", "input": "x", "background": true}),
            json!({"model": "r1", "input": "x", "text": {"format": {"type": "json_schema"}}}),
            json!({"model": "r1", "input": [{"type": "function_call_output", "call_id": "c", "output": "1"}]}),
            json!({"model": "r1"}),
        ] {
            assert!(chat(body.clone()).is_none(), "{body}");
        }
        // Empty tool lists and `background: false` are plain requests.
        assert!(
            chat(json!({"model": "r1", "input": "x", "tools": [], "background": false})).is_some()
        );
    }
}
