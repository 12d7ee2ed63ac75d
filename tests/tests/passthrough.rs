//! Every route but chat completions passes through to the tenant's backend:
//! authenticated, counted against the tenant, bodies intact both ways.
mod common;

use common::client;
use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake::{router, AppState, Gateway};
use selfbrake_tests::{MockConfig, MockUpstream};
use serde_json::{json, Value};

async fn start(mock: &MockUpstream, tenant: &str) -> String {
    let toml = format!(
        r#"
[backends.default]
kind = "openai"
base_url = "{}"

[tenants.acme]
api_keys = ["{}"]
backend = "default"
policy = "default"
{tenant}
"#,
        mock.base_url(),
        hash_key("sk-acme")
    );
    let state = AppState::new(Gateway::build(&Config::from_toml_str(&toml).unwrap()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    base
}

#[tokio::test]
async fn each_route_reaches_the_backend_with_its_body_intact() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let base = start(&mock, "").await;
    let routes = [
        (
            "/v1/completions",
            json!({"model": "mock-model", "prompt": "2+2=", "max_tokens": 4}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "mock-model", "input": "two plus two"}),
        ),
        (
            "/v1/responses",
            // Builds on a stored response: the backend's own Responses API
            // (a stateless one is braked: tests/tests/responses.rs).
            json!({"model": "mock-model", "input": "And 3+3?", "previous_response_id": "resp_1"}),
        ),
        (
            "/v1/messages",
            json!({"model": "mock-model", "max_tokens": 16, "messages": [{"role": "user", "content": "2+2?"}]}),
        ),
        (
            "/v1/rerank",
            json!({"model": "mock-model", "query": "q", "documents": ["a", "b"]}),
        ),
        (
            "/tokenize",
            json!({"model": "mock-model", "prompt": "two plus two"}),
        ),
        (
            "/detokenize",
            json!({"model": "mock-model", "tokens": [17, 42, 99]}),
        ),
    ];
    for (path, body) in &routes {
        let response = client()
            .post(format!("{base}{path}"))
            .bearer_auth("sk-acme")
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let answer: Value = response.json().await.unwrap();
        assert!(answer.is_object(), "{path}: {answer}");
    }
    let received = mock.requests();
    assert_eq!(received.len(), routes.len());
    for ((path, body), got) in routes.iter().zip(&received) {
        assert_eq!(&got.path, path);
        assert_eq!(&got.body, body, "{path}: the body arrived changed");
        assert_eq!(
            got.authorization, None,
            "{path}: the client's key went upstream"
        );
        assert!(
            got.header_names.iter().any(|h| h == "traceparent"),
            "{path}: no traceparent"
        );
    }
}

#[tokio::test]
async fn streamed_completions_stream_through() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let base = start(&mock, "").await;
    let response = client()
        .post(format!("{base}/v1/completions"))
        .bearer_auth("sk-acme")
        .json(&json!({"model": "mock-model", "prompt": "2+2=", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    assert!(text.contains("\"text\":\" answer\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
}

#[tokio::test]
async fn unknown_paths_are_the_backends_404_and_keys_are_checked_first() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let base = start(&mock, "").await;
    let unknown = client()
        .post(format!("{base}/v1/does-not-exist"))
        .bearer_auth("sk-acme")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Not Found"}),
        "the backend's own 404"
    );
    let no_key = client()
        .post(format!("{base}/v1/embeddings"))
        .json(&json!({"input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    assert_eq!(
        mock.requests().len(),
        1,
        "the keyless request reached nothing"
    );
}

#[tokio::test]
async fn passthrough_counts_against_the_tenants_limits() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let base = start(&mock, "requests_per_minute = 2").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = client()
            .post(format!("{base}/v1/embeddings"))
            .bearer_auth("sk-acme")
            .json(&json!({"model": "mock-model", "input": "x"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429]);
}
