//! Shared by the integration tests: a selfbrake proxy on loopback, and a
//! client that reads its SSE stream with arrival times.
#![allow(dead_code)]

pub mod acme;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use selfbrake::config::Config;
use selfbrake::{router, AppState, Gateway};
use serde_json::{json, Value};

/// A selfbrake server on `127.0.0.1:<ephemeral>`.
pub struct Proxy {
    pub addr: SocketAddr,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(config_toml: &str) -> Proxy {
        let config = Config::from_toml_str(config_toml).expect("test config parses");
        let state = AppState::new(Gateway::build(&config).expect("test config is valid"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn chat(&self, body: &Value) -> reqwest::Response {
        client()
            .post(self.url("/v1/chat/completions"))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The JSON body of `request`, whatever its status.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A config with one `openai` backend at `base_url` and one policy (`test`)
/// given as TOML lines, served anonymously.
pub fn config(base_url: &str, policy: &str) -> String {
    format!(
        r#"
[backends.default]
kind = "openai"
base_url = "{base_url}"
first_byte_timeout_ms = 2000
idle_timeout_ms = 2000

[policies.test]
{policy}

[tenants.anyone]
anonymous = true
backend = "default"
policy = "test"
"#
    )
}

/// A chat request; streamed ones ask for the usage chunk, as most clients do.
pub fn request(stream: bool) -> Value {
    let mut body = json!({
        "model": "mock-model",
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "stream": stream,
    });
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// One SSE `data:` payload and when it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub data: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("bad JSON in {:?}: {e}", self.data))
    }
}

/// Reads a whole SSE response, checking it is well-formed SSE (every event
/// one `data:` line, separated by blank lines).
pub async fn read_sse(response: reqwest::Response) -> Vec<Received> {
    assert_eq!(response.status(), 200, "stream status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("stream read");
        let at = Instant::now();
        buffer.push_str(std::str::from_utf8(&chunk).expect("utf-8 SSE"));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let line = event.trim_end_matches('\n');
            assert!(!line.contains('\n'), "one line per event: {line:?}");
            let data = line
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data line: {line:?}"));
            events.push(Received {
                data: data.to_string(),
                at,
            });
        }
    }
    assert!(
        buffer.is_empty(),
        "trailing bytes after the last event: {buffer:?}"
    );
    events
}

/// What a client assembles from a completion stream.
#[derive(Debug, Default)]
pub struct Assembled {
    pub ids: Vec<String>,
    pub reasoning: String,
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: Option<Value>,
    pub selfbrake: Option<Value>,
    pub error: Option<Value>,
    pub done: bool,
}

pub fn assemble(events: &[Received]) -> Assembled {
    let mut out = Assembled::default();
    for (i, event) in events.iter().enumerate() {
        if event.data == "[DONE]" {
            assert_eq!(i, events.len() - 1, "[DONE] is last");
            out.done = true;
            continue;
        }
        let chunk = event.json();
        if let Some(error) = chunk.get("error") {
            out.error = Some(error.clone());
            continue;
        }
        let id = chunk["id"].as_str().unwrap().to_string();
        if !out.ids.contains(&id) {
            out.ids.push(id);
        }
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(choice) = chunk["choices"].as_array().and_then(|c| c.first()) {
            let delta = &choice["delta"];
            if let Some(r) = delta.get("reasoning_content").and_then(Value::as_str) {
                out.reasoning.push_str(r);
            }
            if let Some(c) = delta.get("content").and_then(Value::as_str) {
                out.content.push_str(c);
            }
            if let Some(f) = choice["finish_reason"].as_str() {
                out.finish_reason = Some(f.to_string());
            }
        }
        if chunk.get("usage").is_some_and(|u| !u.is_null()) {
            out.usage = Some(chunk["usage"].clone());
        }
        if let Some(s) = chunk.get("selfbrake") {
            assert!(out.selfbrake.is_none(), "one selfbrake object");
            out.selfbrake = Some(s.clone());
        }
    }
    out
}
