//! The holes a security and reliability review found, each proven over
//! real HTTP against the real connection loop (`selfbrake::server::serve`).
mod common;

use std::time::{Duration, Instant};

use common::{client, request};
use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake::server::{serve, ClientLimits};
use selfbrake::{admin_router, router, AppState, Gateway};
use selfbrake_tests::{Misbehaviour, MockConfig, MockUpstream, Script};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// selfbrake behind its own connection loop; returns its address and state.
async fn start(toml: &str) -> (std::net::SocketAddr, AppState) {
    let config = Config::from_toml_str(toml).expect("config parses");
    let state = AppState::new(Gateway::build(&config).expect("config is valid"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state.clone());
    let limits = ClientLimits::from(&config.server);
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    (addr, state)
}

/// A chat request with tenant acme's key.
async fn as_acme(url: &str, body: &Value) -> reqwest::Response {
    client()
        .post(url)
        .bearer_auth("sk-acme")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn toml(base_url: &str, server: &str, tenant: &str) -> String {
    format!(
        r#"
[server]
{server}

[backends.default]
kind = "openai"
base_url = "{base_url}"

[policies.test]
rules = [{{ kind = "budget", max_reasoning_tokens = 1000000 }}]

[tenants.acme]
api_keys = ["{key}"]
backend = "default"
policy = "test"
{tenant}
"#,
        key = hash_key("sk-acme")
    )
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_dropped() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let (addr, _) = start(&toml(&mock.base_url(), "header_read_timeout_ms = 300", "")).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut closed = false;
    for byte in b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n".iter() {
        if tcp.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !closed {
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await;
        closed = matches!(read, Ok(Ok(_)) | Ok(Err(_)));
    }
    assert!(
        closed,
        "a slow-header client still held its connection after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "dropped after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_streaming_client_that_stops_reading_is_dropped_and_the_upstream_cancelled() {
    // A long, fast generation: far more than the socket buffers hold.
    let long = "word ".repeat(200_000);
    let mock = MockUpstream::start(MockConfig::with_script(Script::new(long, "4"))).await;
    let (addr, state) = start(&toml(
        &mock.base_url(),
        "client_stall_ms = 300",
        "max_concurrent_requests = 1",
    ))
    .await;
    let body = serde_json::to_string(&request(true)).unwrap();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-acme\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // Read the first bytes, then stop reading.
    let mut buf = [0u8; 1024];
    let _ = tcp.read(&mut buf).await.unwrap();
    let closed = mock.wait_closed(0, Duration::from_secs(10)).await;
    assert!(
        closed.is_some(),
        "the upstream request outlived a client that stopped reading"
    );
    // The tenant's slot came back: a new request is admitted.
    let next = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth("sk-acme")
        .json(&serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        next.status(),
        200,
        "the stalled client still holds the tenant's slot"
    );
    drop(tcp);
    let _ = state;
}

#[tokio::test]
async fn the_total_deadline_fires_even_when_nobody_polls() {
    let script = Script::new("slow ".repeat(1000), "4").delay(Duration::from_millis(20));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let (addr, _) = start(&toml(&mock.base_url(), "max_request_ms = 400", "")).await;
    let started = Instant::now();
    let response = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth("sk-acme")
        .json(&request(true))
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    use futures::StreamExt;
    while let Some(chunk) = stream.next().await {
        if chunk.is_err() {
            break;
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ran {:?}",
        started.elapsed()
    );
    assert!(mock.wait_closed(0, Duration::from_secs(2)).await.is_some());
}

#[tokio::test]
async fn beyond_max_concurrent_streams_requests_are_shed_with_503() {
    let script = Script::new("slow ".repeat(200), "4").delay(Duration::from_millis(20));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let (addr, _) = start(&toml(&mock.base_url(), "max_concurrent_streams = 1", "")).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let first = as_acme(&url, &request(true)).await;
    assert_eq!(first.status(), 200);
    let second = as_acme(&url, &request(false)).await;
    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");
    drop(first);
}

#[tokio::test]
async fn a_key_that_matches_nothing_is_401_even_with_an_anonymous_tenant() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let (addr, _) = start(&toml(&mock.base_url(), "", "anonymous = true")).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let revoked = client()
        .post(&url)
        .bearer_auth("sk-revoked")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    let anonymous = client()
        .post(&url)
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        200,
        "no key at all is the anonymous tenant"
    );
    assert_eq!(
        mock.chat_bodies().len(),
        1,
        "the revoked key reached no upstream"
    );
}

#[tokio::test]
async fn metrics_are_not_open_on_the_main_listener() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let (addr, state) = start(&toml(&mock.base_url(), "", "")).await;
    let open = client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 404);

    let (addr, _) = start(&toml(&mock.base_url(), "metrics_token = \"m-secret\"", "")).await;
    let url = format!("http://{addr}/metrics");
    assert_eq!(client().get(&url).send().await.unwrap().status(), 401);
    let wrong = client().get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client()
        .get(&url)
        .bearer_auth("m-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("# TYPE selfbrake_"));

    // The admin listener serves them without credentials.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, admin_router(state)).await.unwrap() });
    let scraped = client()
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
}

#[tokio::test]
async fn tenant_request_rules_hold_upstream() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let tenant = r#"models = ["mock-model"]
max_tokens_cap = 64
cache_salt = "acme-salt""#;
    let (addr, _) = start(&toml(&mock.base_url(), "", tenant)).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let post = |body: Value| {
        client()
            .post(&url)
            .bearer_auth("sk-acme")
            .json(&body)
            .send()
    };

    let mut forbidden = request(false);
    forbidden["priority"] = (-100).into();
    assert_eq!(post(forbidden).await.unwrap().status(), 400);
    let mut other_model = request(false);
    other_model["model"] = "someone-elses-lora".into();
    assert_eq!(post(other_model).await.unwrap().status(), 403);
    let mut big = request(false);
    big["max_tokens"] = 100_000.into();
    assert_eq!(post(big).await.unwrap().status(), 200);
    let bodies = mock.chat_bodies();
    assert_eq!(bodies.len(), 1, "refused requests reach no upstream");
    assert_eq!(bodies[0]["max_tokens"], 64);
    assert_eq!(bodies[0]["cache_salt"], "acme-salt");
}

#[tokio::test]
async fn upstream_errors_do_not_leak_internals() {
    let mock = MockUpstream::start(MockConfig {
        fault: Misbehaviour::Status {
            status: 500,
            body: "Traceback: /opt/vllm/secret/path.py line 3".into(),
            content_type: "text/plain".into(),
        },
        ..MockConfig::default()
    })
    .await;
    let (addr, _) = start(&toml(&mock.base_url(), "", "")).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let response = as_acme(&url, &request(false)).await;
    assert_eq!(response.status(), 502);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("Traceback") && !message.contains("/opt"),
        "{message}"
    );
    assert!(
        message.contains(&id),
        "the message names the request id: {message}"
    );

    // A backend that refuses our own key is not the client's 401.
    mock.set_fault(Misbehaviour::status(401, "bad key"));
    let response = as_acme(&url, &request(false)).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_auth");

    // An unreachable backend whose URL carries credentials never shows them.
    let (addr, _) = start(&toml("http://user:hunter2@127.0.0.1:9/v1", "", "")).await;
    let response = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth("sk-acme")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("127.0.0.1:9"),
        "{text}"
    );
}

#[test]
fn anonymous_access_on_a_public_address_must_be_asked_for() {
    let base = "[backends.default]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n";
    let public =
        Config::from_toml_str(&format!("[server]\nlisten = \"0.0.0.0:8787\"\n{base}")).unwrap();
    let issues = public.validate();
    assert!(
        issues.iter().any(|i| i.path == "server.allow_anonymous"),
        "{issues:?}"
    );
    let allowed = Config::from_toml_str(&format!(
        "[server]\nlisten = \"0.0.0.0:8787\"\nallow_anonymous = true\n{base}"
    ))
    .unwrap();
    assert!(allowed.validate().is_empty(), "{:?}", allowed.validate());
    let loopback = Config::from_toml_str(base).unwrap();
    assert!(loopback.validate().is_empty());
}

#[test]
fn the_same_key_in_either_hex_case_is_one_key() {
    let key = hash_key("sk-shared");
    let upper = format!("sha256:{}", key["sha256:".len()..].to_uppercase());
    let cfg = Config::from_toml_str(&format!(
        r#"
[backends.default]
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
[tenants.a]
api_keys = ["{key}"]
backend = "default"
policy = "default"
[tenants.b]
api_keys = ["{upper}"]
backend = "default"
policy = "default"
"#
    ))
    .unwrap();
    let issues = cfg.validate();
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("also given to tenant")),
        "{issues:?}"
    );
}

#[tokio::test]
async fn lowering_concurrency_on_reload_counts_the_requests_in_flight() {
    let script = Script::new("slow ".repeat(300), "4").delay(Duration::from_millis(10));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let (addr, state) = start(&toml(&mock.base_url(), "", "max_concurrent_requests = 3")).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let open = |stream: bool| {
        client()
            .post(&url)
            .bearer_auth("sk-acme")
            .json(&request(stream))
            .send()
    };
    let first = open(true).await.unwrap();
    let second = open(true).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    // Reload: the tenant may now have 1 in flight; 2 still are.
    let lowered = toml(&mock.base_url(), "", "max_concurrent_requests = 1");
    // As `selfbrake::reload` does: built on the gateway it replaces.
    let config = Config::from_toml_str(&lowered).unwrap();
    state.replace(Gateway::rebuild(&config, Some(&state.gateway())).unwrap());
    let third = open(false).await.unwrap();
    assert_eq!(third.status(), 429, "old and new slots added up");
    drop((first, second));
    let mut admitted = false;
    for _ in 0..100 {
        if open(false).await.unwrap().status() == 200 {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "slots came back once the streams ended");
}
