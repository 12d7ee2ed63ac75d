use serde_json::{Map, Value};

use crate::error::ProxyError;

/// A validated client chat request. Keys we do not know are kept and sent upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub body: Map<String, Value>,
    pub stream: bool,
}

impl ChatRequest {
    /// Parses and validates a request body; every refusal names the field.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProxyError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ProxyError::bad_request(format!("request body is not valid JSON: {e}"), None)
        })?;
        Self::from_value(value)
    }

    /// Validates a request body already parsed (or built from another API's
    /// request, as `/v1/responses` is).
    pub fn from_value(value: Value) -> Result<Self, ProxyError> {
        let Value::Object(body) = value else {
            return Err(ProxyError::bad_request(
                "request body must be a JSON object",
                None,
            ));
        };
        let messages = match body.get("messages") {
            None => {
                return Err(ProxyError::bad_request(
                    "`messages` is required",
                    Some("messages"),
                ))
            }
            Some(Value::Array(m)) if m.is_empty() => {
                return Err(ProxyError::bad_request(
                    "`messages` must not be empty",
                    Some("messages"),
                ))
            }
            Some(Value::Array(m)) => m,
            Some(_) => {
                return Err(ProxyError::bad_request(
                    "`messages` must be an array",
                    Some("messages"),
                ))
            }
        };
        for (i, message) in messages.iter().enumerate() {
            let param = format!("messages[{i}]");
            let Some(obj) = message.as_object() else {
                return Err(ProxyError::bad_request(
                    format!("`{param}` must be an object"),
                    Some(&param),
                ));
            };
            match obj.get("role") {
                Some(Value::String(_)) => {}
                _ => {
                    let p = format!("{param}.role");
                    return Err(ProxyError::bad_request(
                        format!("`{p}` must be a string"),
                        Some(&p),
                    ));
                }
            }
            if let Some(content) = obj.get("content") {
                if !(content.is_string() || content.is_array() || content.is_null()) {
                    let p = format!("{param}.content");
                    return Err(ProxyError::bad_request(
                        format!("`{p}` must be a string or an array of parts"),
                        Some(&p),
                    ));
                }
            }
        }
        let stream = match body.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ProxyError::bad_request(
                    "`stream` must be a boolean",
                    Some("stream"),
                ))
            }
        };
        if let Some(model) = body.get("model") {
            if !model.is_string() {
                return Err(ProxyError::bad_request(
                    "`model` must be a string",
                    Some("model"),
                ));
            }
        }
        match body.get("n") {
            None | Some(Value::Null) => {}
            Some(n) if n.as_u64() == Some(1) => {}
            Some(n) if n.as_u64().is_some_and(|n| n > 1) => {
                return Err(ProxyError::bad_request(
                    "`n` greater than 1 is not supported: each choice would need its own brake",
                    Some("n"),
                ))
            }
            Some(_) => {
                return Err(ProxyError::bad_request(
                    "`n` must be a positive integer",
                    Some("n"),
                ))
            }
        }
        for key in ["max_tokens", "max_completion_tokens"] {
            match body.get(key) {
                None | Some(Value::Null) => {}
                Some(v) if v.as_u64().is_some_and(|v| v >= 1) => {}
                Some(_) => {
                    return Err(ProxyError::bad_request(
                        format!("`{key}` must be a positive integer"),
                        Some(key),
                    ))
                }
            }
        }
        Ok(Self { body, stream })
    }

    /// The `model` the client asked for.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// Adds the braking prompt as the system message, or in front of the existing one.
    pub fn inject_system_prompt(&mut self, prompt: &str) {
        let Some(Value::Array(messages)) = self.body.get_mut("messages") else {
            return;
        };
        let first_is_system = messages
            .first()
            .and_then(|m| m.get("role"))
            .and_then(Value::as_str)
            .is_some_and(|r| r == "system" || r == "developer");
        if !first_is_system {
            let mut system = Map::new();
            system.insert("role".into(), "system".into());
            system.insert("content".into(), prompt.into());
            messages.insert(0, Value::Object(system));
            return;
        }
        let Some(Value::Object(system)) = messages.first_mut() else {
            return;
        };
        match system.get_mut("content") {
            Some(Value::String(text)) => *text = format!("{prompt}\n\n{text}"),
            Some(Value::Array(parts)) => parts.insert(
                0,
                serde_json::json!({"type": "text", "text": format!("{prompt}\n\n")}),
            ),
            _ => {
                system.insert("content".into(), prompt.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> (String, Option<String>) {
        match ChatRequest::parse(body.as_bytes()).unwrap_err() {
            ProxyError::BadRequest { message, param } => (message, param),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(err("{").0.contains("not valid JSON"));
        assert_eq!(err("[]").1, None);
        assert_eq!(err("{}").1.as_deref(), Some("messages"));
        assert_eq!(err(r#"{"messages":[]}"#).1.as_deref(), Some("messages"));
        assert_eq!(err(r#"{"messages":"hi"}"#).1.as_deref(), Some("messages"));
        assert_eq!(
            err(r#"{"messages":[{"content":"x"}]}"#).1.as_deref(),
            Some("messages[0].role")
        );
        assert_eq!(
            err(r#"{"messages":[{"role":"user"}],"stream":"yes"}"#)
                .1
                .as_deref(),
            Some("stream")
        );
        assert_eq!(
            err(r#"{"messages":[{"role":"user"}],"n":2}"#).1.as_deref(),
            Some("n")
        );
        assert_eq!(
            err(r#"{"messages":[{"role":"user"}],"n":0}"#).1.as_deref(),
            Some("n")
        );
        assert_eq!(
            err(r#"{"messages":[{"role":"user"}],"max_tokens":-1}"#)
                .1
                .as_deref(),
            Some("max_tokens")
        );
    }

    #[test]
    fn unknown_keys_are_kept() {
        let req = ChatRequest::parse(
            br#"{"messages":[{"role":"user","content":"hi"}],"top_k":5,"stream":true}"#,
        )
        .unwrap();
        assert!(req.stream);
        assert_eq!(req.body["top_k"], 5);
    }

    #[test]
    fn system_prompt_is_added_or_prepended() {
        let mut req =
            ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        req.inject_system_prompt("Be brief.");
        assert_eq!(
            req.body["messages"][0],
            serde_json::json!({"role":"system","content":"Be brief."})
        );
        let mut req = ChatRequest::parse(
            br#"{"messages":[{"role":"system","content":"You are kind."},{"role":"user","content":"hi"}]}"#,
        )
        .unwrap();
        req.inject_system_prompt("Be brief.");
        assert_eq!(
            req.body["messages"][0]["content"],
            "Be brief.\n\nYou are kind."
        );
        assert_eq!(req.body["messages"].as_array().unwrap().len(), 2);
    }
}

/// The text of the last user message: the question the reasoning is about,
/// which the monitor uses to tell an answer from a value the question gives.
/// Text parts of a multi-part message are joined with spaces.
pub fn last_user_text(body: &Map<String, Value>) -> Option<String> {
    let message = body
        .get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?;
    match message.get("content")? {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod question_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_question_is_the_last_user_message() {
        let body = json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": [{"type": "text", "text": "And 3+3?"}, {"type": "text", "text": "Show work."}]}
        ]});
        let body = body.as_object().unwrap();
        assert_eq!(last_user_text(body).as_deref(), Some("And 3+3? Show work."));
    }
}

/// The reasoning budget the client asked for, in any of the forms clients
/// send: vLLM's `thinking_token_budget`, Anthropic-style `thinking: {type:
/// "enabled", budget_tokens}`, or `chat_template_kwargs.thinking_budget`
/// (the smallest, if several). The Anthropic-style object is removed: an
/// OpenAI-compatible server does not know it. The others go upstream as
/// sent, so an engine that enforces them does too.
pub fn take_reasoning_budget(body: &mut Map<String, Value>) -> Option<u64> {
    let anthropic = match body.get("thinking") {
        Some(Value::Object(t)) if t.get("type").and_then(Value::as_str) == Some("enabled") => {
            t.get("budget_tokens").and_then(Value::as_u64)
        }
        _ => None,
    };
    body.remove("thinking");
    let vllm = body.get("thinking_token_budget").and_then(Value::as_u64);
    let template = body
        .get("chat_template_kwargs")
        .and_then(|k| k.get("thinking_budget"))
        .and_then(Value::as_u64);
    [anthropic, vllm, template].into_iter().flatten().min()
}

#[cfg(test)]
mod budget_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_form_of_budget_is_read_and_the_smallest_wins() {
        let mut body = json!({
            "thinking": {"type": "enabled", "budget_tokens": 900},
            "thinking_token_budget": 700,
            "chat_template_kwargs": {"thinking_budget": 800, "enable_thinking": true}
        })
        .as_object()
        .unwrap()
        .clone();
        assert_eq!(take_reasoning_budget(&mut body), Some(700));
        assert!(
            !body.contains_key("thinking"),
            "the Anthropic form is not sent on"
        );
        assert_eq!(body["thinking_token_budget"], 700);
        let mut none = json!({"thinking": {"type": "disabled"}})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(take_reasoning_budget(&mut none), None);
    }
}
