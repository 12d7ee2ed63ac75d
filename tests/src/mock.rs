//! The in-process mock vLLM server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::body::body_stream;
pub use crate::body::StreamRecord;
use crate::script::tokenize;
use crate::wire::{apply_fault, Generation};
use crate::{Misbehaviour, MockConfig};
use selfbrake_policies::text::last_boxed;

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Position among all requests (0-based).
    pub index: usize,
    pub method: String,
    pub path: String,
    /// The JSON body (`Null` for GET).
    pub body: Value,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Names of every header received, lower-case.
    pub header_names: Vec<String>,
    /// Every header received (lower-case name, value), for the ones a test
    /// checks the value of: trace context, request id.
    pub headers: Vec<(String, String)>,
    /// Whether the mock treated it as a continuation (last message from
    /// the assistant).
    pub continuation: bool,
    pub at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (lower-case), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) struct Shared {
    pub cfg: Mutex<MockConfig>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub streams: Mutex<Vec<StreamRecord>>,
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/health", get(|| async { StatusCode::OK }))
        .fallback(crate::routes::other_route)
        .with_state(shared)
}

pub(crate) fn record(
    sh: &Shared,
    method: &str,
    path: &str,
    body: Value,
    headers: &HeaderMap,
    cont: bool,
) -> usize {
    let mut reqs = sh.requests.lock().unwrap();
    let index = reqs.len();
    reqs.push(RecordedRequest {
        index,
        method: method.into(),
        path: path.into(),
        body,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        header_names: headers.keys().map(|k| k.as_str().to_string()).collect(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_string(), value)
            })
            .collect(),
        continuation: cont,
        at: Instant::now(),
    });
    index
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"object": "error", "message": message, "type": "BadRequestError",
                      "param": null, "code": status.as_u16()});
    (status, Json(body)).into_response()
}

/// True when the last message is the assistant's (a prefix to continue).
pub fn is_continuation(body: &Value) -> bool {
    let last = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.last());
    last.and_then(|m| m.get("role")).and_then(Value::as_str) == Some("assistant")
}

fn message_text(m: &Value) -> String {
    match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// `prompt_tokens` the mock reports: 4 per message plus its content's
/// tokens (`script::tokenize`), so a continuation counts its prefix.
pub fn prompt_tokens(body: &Value) -> u64 {
    let msgs = body.get("messages").and_then(Value::as_array);
    msgs.map(|m| {
        m.iter()
            .map(|m| 4 + tokenize(&message_text(m)).len() as u64)
            .sum()
    })
    .unwrap_or(0)
}

fn generation(cfg: &MockConfig, body: &Value, cont: bool, index: usize) -> Generation {
    let mut tokens = if cont {
        let prefix = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(message_text);
        let believed = cfg
            .probe
            .as_ref()
            .and_then(|p| crate::probe::continuation_answer(p, body));
        let answer = cfg
            .continuation_answer
            .clone()
            .or(believed)
            .unwrap_or_else(|| match prefix.as_deref().and_then(last_boxed) {
                Some(x) => format!("The final answer is $\\boxed{{{x}}}$."),
                None => cfg.script.answer.clone(),
            });
        let flag = cfg.continuation_in_reasoning;
        let mut tokens: Vec<_> = tokenize(&answer).into_iter().map(|t| (flag, t)).collect();
        if cfg.continuation_echo {
            let echo = prefix.unwrap_or_default();
            match tokens.first_mut() {
                Some((_, first)) => first.insert_str(0, &echo),
                None => tokens.push((flag, echo)),
            }
        }
        tokens
    } else {
        cfg.script.tokens()
    };
    let mut finish = cfg.script.finish_reason.clone();
    let max = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64));
    if let Some(max) = max.filter(|&m| (m as usize) < tokens.len()) {
        tokens.truncate(max as usize);
        finish = "length".into();
    }
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Generation {
        id: format!(
            "chatcmpl-{:032x}",
            0x5e1f_b7a4_u64 * 1_000_003 + index as u64
        ),
        created,
        model: cfg.model.clone(),
        tokens,
        form: cfg.script.form,
        finish_reason: finish,
        prompt_tokens: prompt_tokens(body),
        report_reasoning_tokens: cfg.report_reasoning_tokens,
        include_usage: body["stream_options"]["include_usage"].as_bool() == Some(true),
        continuous_usage: body["stream_options"]["continuous_usage_stats"].as_bool() == Some(true),
        tokens_per_chunk: cfg.script.tokens_per_chunk,
    }
}

async fn chat(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        record(
            &sh,
            "POST",
            "/v1/chat/completions",
            Value::Null,
            &headers,
            false,
        );
        return error(StatusCode::BAD_REQUEST, "request body is not JSON");
    };
    let cont = is_continuation(&value);
    let index = record(
        &sh,
        "POST",
        "/v1/chat/completions",
        value.clone(),
        &headers,
        cont,
    );
    let cfg = sh.cfg.lock().unwrap().clone().for_request(&value);
    let fault = if cont {
        cfg.continuation_fault.clone()
    } else {
        cfg.fault.clone()
    };
    match &fault {
        Misbehaviour::Status {
            status,
            body,
            content_type,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                status,
                [(header::CONTENT_TYPE, content_type.clone())],
                body.clone(),
            )
                .into_response();
        }
        Misbehaviour::HangBeforeHeaders => tokio::time::sleep(Duration::from_secs(24 * 3600)).await,
        _ => {}
    }
    let gen = generation(&cfg, &value, cont, index);
    if !value
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Json(gen.body()).into_response();
    }
    let steps = apply_fault(gen.stream_steps(), &fault);
    let body = body_stream(sh.clone(), index, steps, cfg.script.delay);
    (
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        Body::from_stream(body),
    )
        .into_response()
}

async fn models(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    record(&sh, "GET", "/v1/models", Value::Null, &headers, false);
    let model = sh.cfg.lock().unwrap().model.clone();
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Json(json!({
        "object": "list",
        "data": [{
            "id": model, "object": "model", "created": created, "owned_by": "vllm",
            "root": model, "parent": null, "max_model_len": 32768,
            "permission": [{
                "id": "modelperm-0", "object": "model_permission", "created": created,
                "allow_create_engine": false, "allow_sampling": true, "allow_logprobs": true,
                "allow_search_indices": false, "allow_view": true, "allow_fine_tuning": false,
                "organization": "*", "group": null, "is_blocking": false
            }]
        }]
    }))
    .into_response()
}

pub(crate) fn addr_url(addr: SocketAddr) -> String {
    format!("http://{addr}/v1")
}
