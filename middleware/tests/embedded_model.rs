//! selfbrake with the embedded engine on a real model, through the HTTP
//! router. Needs the `embedded` feature and `SELFBRAKE_MODEL` (see
//! `scripts/get-model.sh`); run in release:
//!
//! ```sh
//! SELFBRAKE_MODEL=$(scripts/get-model.sh) \
//!   cargo test --release --features embedded -p selfbrake --test embedded_model
//! ```
#![cfg(feature = "embedded")]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use selfbrake::config::Config;
use selfbrake::{router, AppState, Gateway};
use selfbrake_adapters::mistralrs::generated_tokens;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Tests take turns: the engine's token count belongs to one test at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Below the 29 reasoning tokens SmolLM2-135M writes for the test question unbraked.
const BUDGET: u64 = 16;

fn app(think_prefill: bool, rules: &str) -> axum::Router {
    let gguf = std::env::var("SELFBRAKE_MODEL").expect(
        "SELFBRAKE_MODEL must name a GGUF file for the embedded model tests \
         (SELFBRAKE_MODEL=$(scripts/get-model.sh))",
    );
    let toml = format!(
        r#"
[backends.default]
kind = "mistralrs"
gguf = "{gguf}"
think_prefill = {think_prefill}

[policies.default]
brake_statement = "Wait, I've verified my answer. No need to continue thinking."
answer_max_tokens = 48
on_brake = "continue"
rules = [{rules}]
"#
    );
    let config = Config::from_toml_str(&toml).unwrap();
    router(AppState::new(
        Gateway::build(&config).expect("the model loads"),
    ))
}

fn chat(body: Value) -> Request<Body> {
    Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A request; streamed ones ask for the usage chunk.
fn question(stream: bool, max_tokens: u32) -> Value {
    let mut q = json!({
        "model": "m", "stream": stream, "max_tokens": max_tokens, "temperature": 0.0,
        "messages": [{"role": "user", "content": "What is 12 times 3? Think step by step."}],
    });
    if stream {
        q["stream_options"] = json!({"include_usage": true});
    }
    q
}

async fn settled() -> u64 {
    let mut last = generated_tokens();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = generated_tokens();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// The data lines of an SSE body, parsed, `[DONE]` excluded.
fn sse_chunks(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_and_streaming_return_text_and_usage() {
    let _turn = TURN.lock().await;
    let app = app(
        false,
        r#"{ kind = "budget", max_reasoning_tokens = 100000 }"#,
    );
    let resp = app
        .clone()
        .oneshot(chat(question(false, 32)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let text = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(!text.trim().is_empty(), "{body}");
    assert!(
        body["usage"]["completion_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
    assert!(
        body["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
    assert_eq!(body["selfbrake"]["braked"], false, "{body}");

    let resp = app.oneshot(chat(question(true, 32))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let raw = resp.into_body().collect().await.unwrap().to_bytes();
    let raw = String::from_utf8(raw.to_vec()).unwrap();
    assert!(raw.trim_end().ends_with("data: [DONE]"), "{raw}");
    let chunks = sse_chunks(&raw);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(!text.trim().is_empty(), "{raw}");
    let last = chunks.last().unwrap();
    assert!(
        last["usage"]["completion_tokens"].as_u64().unwrap() > 0,
        "{raw}"
    );
    assert!(last["selfbrake"].is_object(), "{raw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_brake_stops_the_engine_and_the_continuation_answers() {
    let _turn = TURN.lock().await;
    let app = app(
        true,
        &format!(r#"{{ kind = "budget", max_reasoning_tokens = {BUDGET} }}"#),
    );
    let before = settled().await;
    let resp = app.oneshot(chat(question(false, 1000))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let generated = settled().await - before;
    let sb = &body["selfbrake"];
    assert_eq!(sb["braked"], true, "{body}");
    assert_eq!(sb["rule"], "budget", "{body}");
    assert_eq!(sb["answer_source"], "continuation", "{body}");
    let answer = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(!answer.trim().is_empty(), "{body}");
    let answer_tokens = sb["answer_tokens"].as_u64().unwrap();
    assert!(answer_tokens > 0 && answer_tokens <= 48, "{body}");
    // Engine-side count: the reasoning stopped at the budget (a few tokens
    // of slack for the cut), plus the continuation's answer.
    let reasoning_generated = generated - answer_tokens;
    eprintln!("engine tokens: {generated} ({reasoning_generated} reasoning + {answer_tokens} answer); budget {BUDGET}");
    assert!(
        reasoning_generated <= BUDGET + 8,
        "{reasoning_generated} reasoning tokens generated for a budget of {BUDGET}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        generated_tokens() - before,
        generated,
        "tokens generated after the answer"
    );
}

/// SmolLM2 opened with `<think>` never closes it: its whole reply is
/// reasoning. Without the rescue the client got `"content": ""`; the
/// session brakes as `no_answer` and asks the engine for the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_that_never_answers_is_rescued() {
    let _turn = TURN.lock().await;
    let app = app(
        true,
        r#"{ kind = "budget", max_reasoning_tokens = 100000 }"#,
    );
    for stream in [false, true] {
        let resp = app
            .clone()
            .oneshot(chat(question(stream, 1000)))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let raw = resp.into_body().collect().await.unwrap().to_bytes();
        let (answer, report) = if stream {
            let chunks = sse_chunks(std::str::from_utf8(&raw).unwrap());
            let answer: String = chunks
                .iter()
                .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
                .collect();
            let report = chunks.last().unwrap()["selfbrake"].clone();
            (answer, report)
        } else {
            let body: Value = serde_json::from_slice(&raw).unwrap();
            let answer = body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (answer, body["selfbrake"].clone())
        };
        assert_eq!(report["rule"], "no_answer", "stream {stream}: {report}");
        assert_eq!(report["answer_source"], "continuation", "{report}");
        assert!(
            !answer.trim().is_empty(),
            "stream {stream}: an empty answer"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnect_stops_generation() {
    let _turn = TURN.lock().await;
    let app = app(
        true,
        r#"{ kind = "budget", max_reasoning_tokens = 100000 }"#,
    );
    let before = settled().await;
    let resp = app.oneshot(chat(question(true, 2000))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let mut frames = 0;
    while frames < 10 {
        body.frame().await.expect("a frame").unwrap();
        frames += 1;
    }
    drop(body);
    let generated = settled().await - before;
    eprintln!("engine tokens after a disconnect at {frames} frames: {generated}");
    assert!(
        generated < 100,
        "the engine kept generating after the disconnect: {generated}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(generated_tokens() - before, generated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_runs_on_the_engine_beside_the_reasoning() {
    let _turn = TURN.lock().await;
    let app = app(
        true,
        r#"{ kind = "probe", mode = "periodic", every_tokens = 8, max_probes = 1 }"#,
    );
    let before = settled().await;
    let resp = app.oneshot(chat(question(false, 300))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let generated = settled().await - before;
    let sb = &body["selfbrake"];
    eprintln!("probe on the engine: {sb}; engine tokens {generated}");
    assert_eq!(sb["probes"], 1, "{body}");
    // Billed as the engine counted it: the templated prompt with the
    // reasoning and the suffix, and at most 16 generated tokens.
    let probe_tokens = sb["probe_tokens"].as_u64().unwrap();
    assert!(probe_tokens > 30, "{body}");
    let usage = &body["usage"];
    assert!(
        usage["prompt_tokens"].as_u64().unwrap() >= probe_tokens - 16,
        "{body}"
    );
    let reply_tokens =
        sb["reasoning_tokens"].as_u64().unwrap() + sb["answer_tokens"].as_u64().unwrap();
    assert!(
        generated > reply_tokens && generated <= reply_tokens + 16 + 8,
        "the engine generated {generated} tokens for a {reply_tokens}-token reply and one probe"
    );
}
