//! The same request suite against both entry points: the standalone
//! server (`router`) and `BrakeLayer` mounted on an app's own router. Both
//! go through one request pipeline, so every answer must be the same.
mod common;

use axum::routing::get;
use axum::Router;
use common::{client, read_sse, request};
use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake::{router, AppState, BrakeLayer, Gateway};
use selfbrake_tests::{MockConfig, MockUpstream};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
enum Entry {
    Router,
    Layer,
}

/// A server on loopback for `entry`, braking at 3 reasoning tokens, one
/// tenant with key `sk-acme`; returns the chat URL.
async fn serve(entry: Entry, mock: &MockUpstream) -> String {
    let toml = format!(
        r#"
[server]
max_header_bytes = 2048
max_body_bytes = 4096

[backends.default]
kind = "openai"
base_url = "{}"

[policies.test]
rules = [{{ kind = "budget", max_reasoning_tokens = 3 }}]

[tenants.acme]
api_keys = ["{}"]
backend = "default"
policy = "test"
"#,
        mock.base_url(),
        hash_key("sk-acme")
    );
    let config = Config::from_toml_str(&toml).unwrap();
    let state = AppState::new(Gateway::build(&config).unwrap());
    let app = match entry {
        Entry::Router => router(state),
        Entry::Layer => Router::new()
            .route("/status", get(|| async { "app" }))
            .layer(BrakeLayer::new(state)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn suite(entry: Entry) {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let url = serve(entry, &mock).await;
    let authed = |body: &Value| client().post(&url).bearer_auth("sk-acme").json(body);

    // Braked, with a request id on the response.
    let response = authed(&request(false)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{entry:?}");
    assert!(
        response.headers().contains_key("x-request-id"),
        "{entry:?}: no request id"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["selfbrake"]["braked"], true, "{entry:?}");
    assert_eq!(body["selfbrake"]["rule"], "budget", "{entry:?}");

    // The client's own request id is kept.
    let response = authed(&request(false))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-request-id"],
        "trace-me-42",
        "{entry:?}"
    );

    // Streamed: the same brake, ended by [DONE].
    let events = read_sse(authed(&request(true)).send().await.unwrap()).await;
    assert_eq!(
        events.last().map(|e| e.data.as_str()),
        Some("[DONE]"),
        "{entry:?}"
    );

    // No key, a wrong key, a lower-case scheme.
    let none = client()
        .post(&url)
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401, "{entry:?}: no key");
    let wrong = client()
        .post(&url)
        .bearer_auth("sk-revoked")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "{entry:?}: unknown key");
    let lower = client()
        .post(&url)
        .header("authorization", "BEARER sk-acme")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        lower.status(),
        200,
        "{entry:?}: the scheme is case-insensitive"
    );

    // Oversized headers, oversized body, malformed JSON.
    let big = authed(&request(false))
        .header("x-filler", "x".repeat(4096))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 431, "{entry:?}: header limit");
    let mut huge = request(false);
    huge["messages"][0]["content"] = Value::String("y".repeat(8192));
    assert_eq!(
        authed(&huge).send().await.unwrap().status(),
        413,
        "{entry:?}"
    );
    let malformed = client()
        .post(&url)
        .bearer_auth("sk-acme")
        .header("content-type", "application/json")
        .body("{\"messages\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400, "{entry:?}");
    let error: Value = malformed.json().await.unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{entry:?}");
}

#[tokio::test]
async fn the_standalone_server_runs_the_pipeline() {
    suite(Entry::Router).await;
}

#[tokio::test]
async fn the_brake_layer_runs_the_same_pipeline() {
    suite(Entry::Layer).await;
}
