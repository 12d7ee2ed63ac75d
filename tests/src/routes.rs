//! The mock's routes besides chat completions, as vLLM serves them:
//! `/v1/completions` (streamed and not), `/v1/embeddings`,
//! `/v1/responses`, `/v1/messages`, `/v1/rerank`, `/v1/audio/*`,
//! `/tokenize`, `/detokenize` (with `MockConfig::probe`, the probe
//! routes of `crate::probe` instead). Each records what it received and answers
//! in the route's own shape; a path vLLM does not serve is its 404.
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::body::body_stream;
use crate::mock::{record, Shared};
use crate::probe;

/// Paths the mock serves besides chat completions and models.
const SERVED: &[&str] = &[
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/v1/messages",
    "/v1/rerank",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/tokenize",
    "/detokenize",
];

pub(crate) async fn other_route(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let json_body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let index = record(
        &sh,
        method.as_str(),
        &path,
        json_body.clone(),
        &headers,
        false,
    );
    if !SERVED.contains(&path.as_str()) {
        // vLLM (FastAPI) answers an unknown path like this.
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response();
    }
    let probe = sh.cfg.lock().unwrap().probe.clone();
    if let Some(script) = probe {
        match path.as_str() {
            "/tokenize" if script.refuse_tokenize => {
                let body = json!({"object": "error", "message": "cannot tokenize this request",
                    "type": "BadRequestError", "param": null, "code": 400});
                return (StatusCode::BAD_REQUEST, Json(body)).into_response();
            }
            "/tokenize" => return Json(probe::tokenize_route(&script, &json_body)).into_response(),
            "/detokenize" => return Json(probe::detokenize_route(&json_body)).into_response(),
            "/v1/completions" if json_body.get("stream") != Some(&Value::Bool(true)) => {
                let (steps, tick) = probe::completion_steps(&script, &json_body);
                let body = body_stream(sh.clone(), index, steps, tick);
                return (
                    [(header::CONTENT_TYPE, "application/json")],
                    Body::from_stream(body),
                )
                    .into_response();
            }
            _ => {}
        }
    }
    let model = json_body
        .get("model")
        .cloned()
        .unwrap_or(json!("mock-model"));
    let stream = json_body.get("stream") == Some(&Value::Bool(true));
    match path.as_str() {
        "/v1/completions" if stream => {
            completion_stream(&model)
        }
        "/v1/responses" => crate::shapes::responses(&model, stream),
        "/v1/messages" => crate::shapes::messages(&model, stream),
        "/v1/completions" => Json(json!({
            "id": "cmpl-mock", "object": "text_completion", "created": 1_764_000_000,
            "model": model,
            "choices": [{"index": 0, "text": " 4", "logprobs": null, "finish_reason": "stop", "stop_reason": null}],
            "usage": {"prompt_tokens": 5, "total_tokens": 6, "completion_tokens": 1}
        }))
        .into_response(),
        "/v1/embeddings" => Json(json!({
            "id": "embd-mock", "object": "list", "created": 1_764_000_000, "model": model,
            "data": [{"index": 0, "object": "embedding", "embedding": [0.25, -0.5, 0.125]}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3, "completion_tokens": 0}
        }))
        .into_response(),
        "/tokenize" => Json(json!({"count": 3, "max_model_len": 4096, "tokens": [17, 42, 99]}))
            .into_response(),
        "/detokenize" => Json(json!({"prompt": "two plus two"})).into_response(),
        // The rest echo what they got: the tests check it arrived intact.
        _ => Json(json!({"route": path, "received": json_body})).into_response(),
    }
}

fn completion_stream(model: &Value) -> Response {
    let mut out = String::new();
    for (i, text) in [" The", " answer", " is", " 4."].iter().enumerate() {
        let finish = if i == 3 { json!("stop") } else { Value::Null };
        let chunk = json!({"id": "cmpl-mock", "object": "text_completion", "created": 1_764_000_000,
            "model": model, "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}]});
        out.push_str(&format!("data: {chunk}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from(out),
    )
        .into_response()
}
