//! Routing by `model` over several backends: aliases renamed on the way,
//! unknown models refused as OpenAI does, `/v1/models` the union a tenant
//! may use, the least busy backend first and failover before the first byte.
mod common;

use std::time::Duration;

use common::{client, json_of, Proxy};
use selfbrake::gateway::hash_key;
use selfbrake_tests::{Misbehaviour, MockConfig, MockUpstream, Script};
use serde_json::{json, Value};

fn mock_config(model: &str) -> MockConfig {
    MockConfig {
        model: model.into(),
        ..MockConfig::default()
    }
}

/// Backends `a` and `b` (extra settings appended to each), tenant `acme`
/// on both, tenant `beta` on both but allowed only `fast`.
async fn proxy(a: &str, a_extra: &str, b: &str, b_extra: &str) -> Proxy {
    Proxy::start(&format!(
        r#"
[backends.a]
kind = "openai"
base_url = "{a}"
{a_extra}

[backends.b]
kind = "openai"
base_url = "{b}"
{b_extra}

[tenants.acme]
api_keys = ["{acme}"]
backends = ["a", "b"]
policy = "default"

[tenants.beta]
api_keys = ["{beta}"]
backends = ["a", "b"]
policy = "default"
models = ["fast"]
"#,
        acme = hash_key("sk-acme"),
        beta = hash_key("sk-beta"),
    ))
    .await
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "What is 2+2?"}]})
}

async fn post(proxy: &Proxy, key: &str, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(proxy.url(path))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_model_reaches_the_backend_that_serves_it_under_its_upstream_name() {
    let a = MockUpstream::start(mock_config("r1-distill-7b")).await;
    let b = MockUpstream::start(mock_config("qwen3-8b")).await;
    let proxy = proxy(
        &a.base_url(),
        r#"models = ["r1-distill-7b"]"#,
        &b.base_url(),
        r#"models = [{ name = "fast", upstream = "qwen3-8b" }]"#,
    )
    .await;

    let fast = post(&proxy, "sk-acme", "/v1/chat/completions", &chat("fast")).await;
    assert_eq!(fast.status(), 200);
    let fast: Value = fast.json().await.unwrap();
    assert_eq!(
        fast["model"], "fast",
        "the client sees the name it asked for"
    );
    assert_eq!(b.chat_bodies()[0]["model"], "qwen3-8b");
    assert!(a.chat_bodies().is_empty());

    let r1 = post(
        &proxy,
        "sk-acme",
        "/v1/chat/completions",
        &chat("r1-distill-7b"),
    )
    .await;
    assert_eq!(r1.status(), 200);
    assert_eq!(a.chat_bodies()[0]["model"], "r1-distill-7b");

    // A passthrough route is routed the same way.
    let body = json!({"model": "fast", "prompt": "2+2=", "max_tokens": 4});
    let completion = post(&proxy, "sk-acme", "/v1/completions", &body).await;
    assert_eq!(completion.status(), 200);
    let sent = b
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/completions")
        .expect("the completion reached backend b");
    assert_eq!(sent.body["model"], "qwen3-8b");
    assert_eq!(sent.body["prompt"], "2+2=");
}

#[tokio::test]
async fn a_model_no_backend_serves_is_404_model_not_found() {
    let a = MockUpstream::start(mock_config("r1-distill-7b")).await;
    let b = MockUpstream::start(mock_config("qwen3-8b")).await;
    let proxy = proxy(
        &a.base_url(),
        r#"models = ["r1-distill-7b"]"#,
        &b.base_url(),
        r#"models = ["qwen3-8b"]"#,
    )
    .await;
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        let response = post(&proxy, "sk-acme", path, &chat("gpt-9")).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "model_not_found", "{path}");
        assert_eq!(body["error"]["param"], "model");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    assert!(a.requests().iter().all(|r| r.path == "/v1/models"));
    assert!(b.requests().iter().all(|r| r.path == "/v1/models"));
}

#[tokio::test]
async fn models_lists_the_union_a_tenant_may_use() {
    let a = MockUpstream::start(mock_config("r1-distill-7b")).await;
    let b = MockUpstream::start(mock_config("qwen3-8b")).await;
    let proxy = proxy(
        &a.base_url(),
        "",
        &b.base_url(),
        r#"models = [{ name = "fast", upstream = "qwen3-8b" }]"#,
    )
    .await;
    let ids = |list: Value| -> Vec<String> {
        let mut ids: Vec<String> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let acme = json_of(client().get(proxy.url("/v1/models")).bearer_auth("sk-acme")).await;
    // `a` lists nothing, so it reports what it serves; `b` serves its alias.
    assert_eq!(ids(acme.clone()), ["fast", "r1-distill-7b"]);
    let fast = acme["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "fast")
        .unwrap();
    assert_eq!(fast["object"], "model", "the backend's own entry, renamed");
    let beta = json_of(client().get(proxy.url("/v1/models")).bearer_auth("sk-beta")).await;
    assert_eq!(ids(beta), ["fast"]);
    // `beta` may not use `r1-distill-7b` even though `a` would take it.
    let refused = post(
        &proxy,
        "sk-beta",
        "/v1/chat/completions",
        &chat("r1-distill-7b"),
    )
    .await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn the_backend_with_fewest_requests_in_flight_gets_the_next_one() {
    let slow = Script::default().delay(Duration::from_millis(40));
    let a = MockUpstream::start(MockConfig {
        script: slow.clone(),
        ..mock_config("r1")
    })
    .await;
    let b = MockUpstream::start(MockConfig {
        script: slow,
        ..mock_config("r1")
    })
    .await;
    let proxy = proxy(
        &a.base_url(),
        r#"models = ["r1"]"#,
        &b.base_url(),
        r#"models = ["r1"]"#,
    )
    .await;
    let mut body = chat("r1");
    body["stream"] = json!(true);
    // Both idle: the first in config order. Its stream stays open (40 ms a
    // token) while the second request arrives.
    let first = post(&proxy, "sk-acme", "/v1/chat/completions", &body).await;
    assert_eq!(first.status(), 200);
    let second = post(&proxy, "sk-acme", "/v1/chat/completions", &body).await;
    assert_eq!(second.status(), 200);
    assert_eq!(a.chat_bodies().len(), 1, "the first request went to a");
    assert_eq!(b.chat_bodies().len(), 1, "the second went to the idle b");
    let (first, second) = (first.text().await.unwrap(), second.text().await.unwrap());
    assert!(first.ends_with("data: [DONE]\n\n") && second.ends_with("data: [DONE]\n\n"));
    // Both idle again: a, first in order, takes the next.
    post(&proxy, "sk-acme", "/v1/chat/completions", &chat("r1")).await;
    assert_eq!(a.chat_bodies().len(), 2);
}

#[tokio::test]
async fn a_backend_that_is_down_or_silent_fails_over_to_the_next() {
    // Nothing listens on `down`.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", listener.local_addr().unwrap())
    };
    let b = MockUpstream::start(mock_config("r1")).await;
    let proxy1 = proxy(
        &down,
        r#"models = ["r1"]"#,
        &b.base_url(),
        r#"models = ["r1"]"#,
    )
    .await;
    let response = post(&proxy1, "sk-acme", "/v1/chat/completions", &chat("r1")).await;
    assert_eq!(response.status(), 200, "refused connection: served by b");
    let body = json!({"model": "r1", "input": "two"});
    let embedded = post(&proxy1, "sk-acme", "/v1/embeddings", &body).await;
    assert_eq!(embedded.status(), 200, "a passthrough fails over too");

    // A backend that never sends its headers, with a short first-byte timeout.
    let silent = MockUpstream::start(MockConfig {
        fault: Misbehaviour::HangBeforeHeaders,
        ..mock_config("r1")
    })
    .await;
    let proxy2 = proxy(
        &silent.base_url(),
        "models = [\"r1\"]\nfirst_byte_timeout_ms = 300",
        &b.base_url(),
        r#"models = ["r1"]"#,
    )
    .await;
    let response = post(&proxy2, "sk-acme", "/v1/chat/completions", &chat("r1")).await;
    assert_eq!(
        response.status(),
        200,
        "timeout before the first byte: served by b"
    );
    assert_eq!(silent.chat_bodies().len(), 1);
    assert_eq!(b.chat_bodies().len(), 2);
}

#[tokio::test]
async fn a_client_error_is_not_failed_over() {
    let a = MockUpstream::start(MockConfig {
        fault: Misbehaviour::status(400, "max_tokens is too large"),
        ..mock_config("r1")
    })
    .await;
    let b = MockUpstream::start(mock_config("r1")).await;
    let proxy = proxy(
        &a.base_url(),
        r#"models = ["r1"]"#,
        &b.base_url(),
        r#"models = ["r1"]"#,
    )
    .await;
    let response = post(&proxy, "sk-acme", "/v1/chat/completions", &chat("r1")).await;
    assert_eq!(
        response.status(),
        400,
        "the request itself is wrong: same answer anywhere"
    );
    assert!(b.chat_bodies().is_empty());
}
