//! `/v1/responses` braked like chat: a stateless, tool-free request runs
//! as the equivalent chat request and comes back in the Responses API's
//! shape, reasoning item first; a stateful one passes through.
mod common;

use std::time::Duration;

use common::{client, config, Proxy};
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};
use serde_json::{json, Value};

const STATEMENT_END: &str = "No need to continue thinking.";

async fn braking_proxy() -> (MockUpstream, Proxy) {
    let t = trace("r1-gsm8k-1");
    let script = Script::from_trace(&t).delay(Duration::from_micros(100));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let policy = "rules = [{ kind = \"budget\", max_reasoning_tokens = 40 }]";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    (mock, proxy)
}

fn request(stream: bool) -> Value {
    json!({"model": "mock-model", "instructions": "Be brief.", "input": "What is 2+2?",
        "max_output_tokens": 2000, "stream": stream})
}

#[tokio::test]
async fn a_braked_response_has_the_cut_reasoning_then_the_answer() {
    let (mock, proxy) = braking_proxy().await;
    let response = client()
        .post(proxy.url("/v1/responses"))
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-selfbrake-rule"], "budget");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["model"], "mock-model");
    let output = body["output"].as_array().unwrap();
    assert_eq!(output.len(), 2, "{body}");
    assert_eq!(output[0]["type"], "reasoning");
    let reasoning = output[0]["content"][0]["text"].as_str().unwrap();
    assert!(reasoning.ends_with(STATEMENT_END), "{reasoning}");
    assert_eq!(output[1]["type"], "message");
    assert_eq!(
        output[1]["content"][0]["text"],
        "The final answer is $\\boxed{540}$."
    );
    assert_eq!(body["selfbrake"]["braked"], true);
    assert_eq!(body["selfbrake"]["reasoning_tokens"], 40);
    assert_eq!(
        body["usage"]["output_tokens_details"]["reasoning_tokens"],
        40
    );
    // The backend got the conversation as chat, then the continuation.
    let sent = mock.chat_bodies();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0]["messages"],
        json!([{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "What is 2+2?"}])
    );
    assert_eq!(sent[0]["max_completion_tokens"], 2000);
    assert!(sent[0].get("input").is_none());
    assert!(!mock.requests().iter().any(|r| r.path == "/v1/responses"));
}

#[tokio::test]
async fn a_streamed_response_sends_reasoning_text_events_then_the_answer() {
    let (_mock, proxy) = braking_proxy().await;
    let text = client()
        .post(proxy.url("/v1/responses"))
        .json(&request(true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut events = Vec::new();
    let mut name = "";
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = n;
        } else if let Some(data) = line.strip_prefix("data: ") {
            let event: Value = serde_json::from_str(data).unwrap();
            assert_eq!(event["type"], name, "the event name matches its type");
            events.push(event);
        }
    }
    assert_eq!(events[0]["type"], "response.created");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], i, "sequence numbers count up from 0");
    }
    let joined = |kind: &str| -> String {
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .map(|e| e["delta"].as_str().unwrap())
            .collect()
    };
    let reasoning = joined("response.reasoning_text.delta");
    assert!(reasoning.ends_with(STATEMENT_END), "{reasoning}");
    assert_eq!(
        joined("response.output_text.delta"),
        "The final answer is $\\boxed{540}$."
    );
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed");
    let done = &last["response"];
    assert_eq!(done["output"][0]["content"][0]["text"], reasoning);
    assert_eq!(done["selfbrake"]["rule"], "budget");
    // No chat framing leaks into the Responses stream.
    assert!(!text.contains("[DONE]") && !text.contains("chat.completion"));
}

#[tokio::test]
async fn the_token_limit_shows_as_an_incomplete_response() {
    // The answer is cut by max_output_tokens: status incomplete, as OpenAI says it.
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;
    let mut body = request(false);
    body["max_output_tokens"] = json!(3);
    let answer: Value = client()
        .post(proxy.url("/v1/responses"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "incomplete", "{answer}");
    assert_eq!(answer["incomplete_details"]["reason"], "max_output_tokens");
}

#[tokio::test]
async fn a_stateful_request_passes_through() {
    let (mock, proxy) = braking_proxy().await;
    let body =
        json!({"model": "mock-model", "input": "And 3+3?", "previous_response_id": "resp_1"});
    let response = client()
        .post(proxy.url("/v1/responses"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let got = mock.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/v1/responses");
    assert_eq!(got[0].body, body);
}
