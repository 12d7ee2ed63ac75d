//! Probes on an OpenAI-compatible server: a raw completion whose prompt is
//! the exact templated conversation, then the reasoning so far and the
//! probe suffix, greedy, with log-probabilities.
//!
//! `probe = "vllm"` (the default; vLLM and servers with its routes):
//! The templated text comes from the server itself, once per client
//! request: `/tokenize` with the request's `messages` (and `tools`,
//! `chat_template_kwargs`) and `add_generation_prompt: true` gives the
//! token ids the chat request was prefilled with; `/detokenize` turns them
//! back into text, special tokens included. Each probe then sends text with
//! `add_special_tokens: false`: one request per probe (tokenizing the
//! reasoning and concatenating ids would cost a second round trip every
//! time), and the server maps the special-token strings back to the same
//! ids, so the prompt shares its prefix with the running generation and
//! hits the prefix cache.
//!
//! `probe = "llamacpp"` (llama.cpp's server): `/apply-template` gives the
//! templated text; each probe is `POST /completion` with `n_probs: 1` and
//! `cache_prompt: true`.
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::OnceCell;

use super::http::{check_status, read_capped, send};
use super::parse_usage;
use crate::forward::upstream_url;
use crate::probe::{probe_turn, ProbeCall, ProbeReply, ProbeToken, Prober};
use crate::AdapterError;

/// Which routes a backend's probes use (`probe` in the backend's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeRoute {
    /// `/tokenize` + `/detokenize` once, `/v1/completions` per probe.
    #[default]
    Vllm,
    /// `/apply-template` once, `/completion` per probe.
    Llamacpp,
    /// The backend does not probe: a policy's probe rule steps aside.
    None,
}

/// The probes of one client request on an OpenAI-compatible server.
pub struct OpenAiProber {
    route: ProbeRoute,
    client: reqwest::Client,
    base: String,
    api_key: Option<String>,
    /// The request's model, messages, tools and template arguments.
    chat: Map<String, Value>,
    /// The request's `cache_salt` (a tenant's, on vLLM).
    cache_salt: Option<Value>,
    timeout: Duration,
    max_body: usize,
    templated: OnceCell<String>,
}

impl OpenAiProber {
    pub(super) fn new(backend: &super::OpenAiBackend, request: &Map<String, Value>) -> Self {
        let mut chat = Map::new();
        for key in ["model", "messages", "tools", "chat_template_kwargs"] {
            if let Some(v) = request.get(key) {
                chat.insert(key.into(), v.clone());
            }
        }
        let cfg = backend.config();
        OpenAiProber {
            route: cfg.probe,
            client: backend.client.clone(),
            base: backend.base.clone(),
            api_key: cfg.api_key.clone(),
            chat,
            cache_salt: request.get("cache_salt").cloned(),
            timeout: cfg.first_byte_timeout,
            max_body: cfg.max_response_bytes,
            templated: OnceCell::new(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, AdapterError> {
        let url = upstream_url(&self.base, path);
        let mut rb = self.client.post(&url).json(body);
        if let Some(key) = &self.api_key {
            rb = rb.bearer_auth(key);
        }
        let resp = match check_status(send(rb, self.timeout).await?, self.timeout).await {
            // The server has no such route, or refuses this request's probe
            // (a `/tokenize` without `messages`, a prompt over the context):
            // asking again would fail the same way, so the rule steps aside
            // for this request rather than failing every time. Timeouts and
            // 5xx stay failures: the next probe may work.
            Err(AdapterError::Status {
                status: status @ (400 | 404 | 405 | 422 | 501),
                ..
            }) => {
                tracing::warn!(status, route = path, "the server refuses probes");
                return Err(AdapterError::Unsupported("probe"));
            }
            other => other?,
        };
        let bytes = read_capped(resp, self.max_body, self.timeout, path).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Protocol(format!("{path} answered invalid JSON: {e}")))
    }

    /// The conversation as the server templates it, up to the assistant's turn.
    async fn templated(&self) -> Result<&str, AdapterError> {
        let text = self
            .templated
            .get_or_try_init(|| async {
                if self.route == ProbeRoute::Llamacpp {
                    let body = Value::Object(self.chat.clone());
                    let text = self.post("/apply-template", &body).await?;
                    return match text.get("prompt").and_then(Value::as_str) {
                        Some(p) => Ok(p.to_string()),
                        None => Err(AdapterError::Protocol(
                            "/apply-template answered without `prompt`".into(),
                        )),
                    };
                }
                let mut body = self.chat.clone();
                body.insert("add_generation_prompt".into(), Value::Bool(true));
                let ids = self.post("/tokenize", &Value::Object(body)).await?;
                let tokens = ids.get("tokens").filter(|t| t.is_array()).ok_or_else(|| {
                    AdapterError::Protocol("/tokenize answered without `tokens`".into())
                })?;
                let model = self.chat.get("model").cloned().unwrap_or(Value::Null);
                let body = json!({"model": model, "tokens": tokens});
                let text = self.post("/detokenize", &body).await?;
                match text.get("prompt").and_then(Value::as_str) {
                    Some(p) => Ok(p.to_string()),
                    None => Err(AdapterError::Protocol(
                        "/detokenize answered without `prompt`".into(),
                    )),
                }
            })
            .await?;
        Ok(text)
    }
}

#[async_trait]
impl Prober for OpenAiProber {
    async fn probe(&self, call: ProbeCall) -> Result<ProbeReply, AdapterError> {
        let templated = self.templated().await?;
        let prompt = format!("{templated}{}", probe_turn(templated, &call));
        if self.route == ProbeRoute::Llamacpp {
            let body = json!({
                "prompt": prompt, "n_predict": call.max_tokens, "temperature": 0,
                "n_probs": 1, "cache_prompt": true, "stream": false,
            });
            return llamacpp_reply(&self.post("/completion", &body).await?);
        }
        let model = self.chat.get("model").cloned().unwrap_or(Value::Null);
        let mut body = json!({
            "model": model, "prompt": prompt, "max_tokens": call.max_tokens,
            "temperature": 0, "logprobs": 1, "add_special_tokens": false, "stream": false,
        });
        // The tenant's prefix-cache isolation holds for its probes too.
        if let Some(salt) = &self.cache_salt {
            body["cache_salt"] = salt.clone();
        }
        let answer = self.post("/v1/completions", &body).await?;
        completion_reply(&answer)
    }
}

/// Reads llama.cpp's `/completion` body: `completion_probabilities` (one
/// `{token, logprob}` per generated token), else `content` as one token;
/// usage from `tokens_evaluated` / `tokens_predicted`.
pub fn llamacpp_reply(body: &Value) -> Result<ProbeReply, AdapterError> {
    let Some(text) = body.get("content").and_then(Value::as_str) else {
        return Err(AdapterError::Protocol(
            "/completion without `content`".into(),
        ));
    };
    let probs = body["completion_probabilities"].as_array();
    let tokens = match probs.filter(|p| !p.is_empty()) {
        Some(p) => p
            .iter()
            .map(|t| ProbeToken {
                text: t["token"].as_str().unwrap_or_default().to_string(),
                logprob: t["logprob"].as_f64(),
            })
            .collect(),
        None => vec![ProbeToken {
            text: text.to_string(),
            logprob: None,
        }],
    };
    let count = |k: &str| body.get(k).and_then(Value::as_u64);
    let usage = match (count("tokens_evaluated"), count("tokens_predicted")) {
        (Some(prompt), Some(completion)) => Some(crate::Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            reasoning_tokens: None,
        }),
        _ => None,
    };
    Ok(ProbeReply { tokens, usage })
}

/// Reads a `text_completion` body: the tokens with their log-probabilities
/// (`choices[0].logprobs.tokens` / `token_logprobs`, vLLM's format), or the
/// text as one token where the server sent none.
pub fn completion_reply(body: &Value) -> Result<ProbeReply, AdapterError> {
    let choice = &body["choices"][0];
    let Some(text) = choice.get("text").and_then(Value::as_str) else {
        return Err(AdapterError::Protocol(
            "completion without choices[0].text".into(),
        ));
    };
    let lp = &choice["logprobs"];
    let tokens = match (lp["tokens"].as_array(), lp["token_logprobs"].as_array()) {
        (Some(t), Some(p)) if t.len() == p.len() && !t.is_empty() => t
            .iter()
            .zip(p)
            .map(|(t, p)| ProbeToken {
                text: t.as_str().unwrap_or_default().to_string(),
                logprob: p.as_f64(),
            })
            .collect(),
        _ => vec![ProbeToken {
            text: text.to_string(),
            logprob: None,
        }],
    };
    Ok(ProbeReply {
        tokens,
        usage: body
            .get("usage")
            .filter(|u| u.is_object())
            .and_then(|u| parse_usage(u).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_logprobs_are_read_per_token() {
        let body = json!({"choices": [{"text": "42}", "logprobs": {
            "tokens": ["42", "}"], "token_logprobs": [-0.1, -0.01],
            "top_logprobs": [{"42": -0.1}, {"}": -0.01}], "text_offset": [0, 2]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 2, "total_tokens": 102}});
        let r = completion_reply(&body).unwrap();
        assert_eq!(r.tokens.len(), 2);
        assert_eq!(r.tokens[1].logprob, Some(-0.01));
        assert_eq!(r.usage.unwrap().prompt_tokens, 100);
    }

    #[test]
    fn llamacpp_probabilities_are_read_per_token() {
        let body = json!({"content": "42}", "tokens_evaluated": 90, "tokens_predicted": 2,
            "completion_probabilities": [
                {"id": 1, "token": "42", "bytes": [52, 50], "logprob": -0.2, "top_logprobs": []},
                {"id": 2, "token": "}", "bytes": [125], "logprob": -0.01, "top_logprobs": []}]});
        let r = llamacpp_reply(&body).unwrap();
        assert_eq!(r.tokens[0].text, "42");
        assert_eq!(r.tokens[1].logprob, Some(-0.01));
        assert_eq!(r.usage.unwrap().total_tokens, 92);
        assert!(llamacpp_reply(&json!({"error": "x"})).is_err());
    }

    #[test]
    fn without_logprobs_the_text_is_one_token() {
        let body = json!({"choices": [{"text": "42}", "logprobs": null}]});
        let r = completion_reply(&body).unwrap();
        assert_eq!(
            r.tokens,
            vec![ProbeToken {
                text: "42}".into(),
                logprob: None
            }]
        );
        assert!(completion_reply(&json!({"choices": []})).is_err());
    }
}
