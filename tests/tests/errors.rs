//! Bad input and broken upstreams: each gets the exact status or error event,
//! and the server keeps serving afterwards.
mod common;

use common::{assemble, client, config, read_sse, request, Proxy};
use selfbrake_tests::{Misbehaviour, MockConfig, MockUpstream};
use serde_json::Value;

async fn error_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("an OpenAI error body");
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        error["type"].is_string() && error["code"].is_string(),
        "{body}"
    );
    error.clone()
}

/// The proxy still answers an ordinary request.
async fn still_serves(proxy: &Proxy, mock: &MockUpstream) {
    mock.set_fault(Misbehaviour::None);
    let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
    assert!(got.done && got.error.is_none() && !got.content.is_empty());
}

async fn post_raw(proxy: &Proxy, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(proxy.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_requests_get_400_naming_the_field() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;
    for (body, param) in [
        ("{\"messages\": [", None),
        ("{}", Some("messages")),
        ("{\"messages\": []}", Some("messages")),
        ("{\"messages\": 3}", Some("messages")),
        ("{\"messages\": [{\"role\": 1}]}", Some("messages[0].role")),
        (
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream\": \"yes\"}",
            Some("stream"),
        ),
        (
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 0}",
            Some("max_tokens"),
        ),
        (
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 3}",
            Some("n"),
        ),
    ] {
        let error = error_of(post_raw(&proxy, body).await, 400).await;
        assert_eq!(error["type"], "invalid_request_error", "{body}");
        assert_eq!(error["param"].as_str(), param, "{body}");
    }
    assert!(
        mock.chat_bodies().is_empty(),
        "bad requests never reach the upstream"
    );
    still_serves(&proxy, &mock).await;
}

#[tokio::test]
async fn oversized_body_gets_413_and_unknown_routes_404() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let cfg = format!(
        "[server]\nmax_body_bytes = 1024\n{}",
        config(&mock.base_url(), "rules = []")
    );
    let proxy = Proxy::start(&cfg).await;
    let huge = format!(
        "{{\"messages\": [{{\"role\": \"user\", \"content\": \"{}\"}}]}}",
        "x".repeat(4096)
    );
    let error = error_of(post_raw(&proxy, huge.clone()).await, 413).await;
    assert_eq!(error["code"], "body_too_large");
    // Without a Content-Length (chunked), the limit still holds.
    let chunks: Vec<Result<String, std::io::Error>> = huge
        .as_bytes()
        .chunks(512)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let streamed = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    error_of(post_raw(&proxy, streamed).await, 413).await;
    // An unknown path is the backend's: its own 404, passed through.
    let unknown = client().get(proxy.url("/v1/nothing")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"detail": "Not Found"}));
    let big_header = client()
        .post(proxy.url("/v1/chat/completions"))
        .header("x-padding", "p".repeat(100 * 1024))
        .json(&request(false))
        .send()
        .await
        .unwrap();
    let error = error_of(big_header, 431).await;
    assert_eq!(error["code"], "headers_too_large");
    error_of(
        client()
            .get(proxy.url("/v1/chat/completions"))
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    still_serves(&proxy, &mock).await;
}

#[tokio::test]
async fn unreachable_upstream_gets_502() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy = Proxy::start(&config(
        &format!("http://127.0.0.1:{port}/v1"),
        "rules = []",
    ))
    .await;
    let error = error_of(proxy.chat(&request(true)).await, 502).await;
    assert_eq!(error["code"], "upstream_unreachable");
    error_of(proxy.chat(&request(false)).await, 502).await;
}

#[tokio::test]
async fn upstream_http_errors_keep_their_meaning() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;

    mock.set_fault(Misbehaviour::status(500, "CUDA out of memory"));
    let error = error_of(proxy.chat(&request(true)).await, 502).await;
    assert_eq!(error["code"], "upstream_status");
    // The upstream's 5xx text is for the log, not the client; the request id is.
    let message = error["message"].as_str().unwrap();
    assert!(!message.contains("CUDA"), "{error}");
    assert!(message.contains("(request "), "{error}");

    mock.set_fault(Misbehaviour::status(
        400,
        "This model's maximum context length is 4096 tokens",
    ));
    let error = error_of(proxy.chat(&request(false)).await, 400).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("maximum context length"),
        "{error}"
    );

    mock.set_fault(Misbehaviour::Status {
        status: 503,
        body: "<html><body>Service Unavailable</body></html>".into(),
        content_type: "text/html".into(),
    });
    let error = error_of(proxy.chat(&request(true)).await, 502).await;
    assert!(
        !error["message"].as_str().unwrap().contains("<html>"),
        "{error}"
    );
    still_serves(&proxy, &mock).await;
}

#[tokio::test]
async fn broken_streams_end_with_an_error_event() {
    // A small delay per token, so the response has started before the fault.
    let script = selfbrake_tests::Script::default().delay(std::time::Duration::from_millis(2));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;
    for (fault, code) in [
        (Misbehaviour::MalformedSse, "upstream_protocol"),
        (Misbehaviour::InvalidJson, "upstream_protocol"),
        (
            Misbehaviour::CloseMidStream { after_chunks: 3 },
            "upstream_closed",
        ),
        (Misbehaviour::HugeLine(2 * 1024 * 1024), "upstream_protocol"),
    ] {
        mock.set_fault(fault.clone());
        let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
        let error = got
            .error
            .unwrap_or_else(|| panic!("{fault:?}: no error event"));
        assert_eq!(error["code"], code, "{fault:?}");
        assert!(got.done, "{fault:?}: the stream still ends with [DONE]");
        assert!(got.selfbrake.is_none(), "{fault:?}");
        // Non-stream clients get the status instead.
        error_of(proxy.chat(&request(false)).await, 502).await;
    }
    still_serves(&proxy, &mock).await;
}

#[tokio::test]
async fn silent_upstreams_time_out() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let cfg = config(&mock.base_url(), "rules = []")
        .replace(
            "first_byte_timeout_ms = 2000",
            "first_byte_timeout_ms = 300",
        )
        .replace("idle_timeout_ms = 2000", "idle_timeout_ms = 300");
    let proxy = Proxy::start(&cfg).await;

    mock.set_fault(Misbehaviour::HangBeforeHeaders);
    let error = error_of(proxy.chat(&request(true)).await, 504).await;
    assert_eq!(error["code"], "upstream_timeout");

    mock.set_fault(Misbehaviour::StallAfter { chunks: 3 });
    let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
    assert_eq!(
        got.error.expect("an error event")["code"],
        "upstream_timeout"
    );
    assert!(got.done);
    still_serves(&proxy, &mock).await;
}

#[tokio::test]
async fn retries_before_the_first_byte_only_where_configured() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let without = Proxy::start(&config(&url, "rules = []")).await;
    let with = Proxy::start(&config(&url, "rules = []").replace(
        "idle_timeout_ms = 2000\n",
        "idle_timeout_ms = 2000\nretries = 4\n",
    ))
    .await;
    error_of(without.chat(&request(true)).await, 502).await;

    // The upstream comes up while the request waits between attempts.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let starter = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        MockUpstream::start_at(addr, MockConfig::default())
            .await
            .unwrap()
    });
    let got = assemble(&read_sse(with.chat(&request(true)).await).await);
    assert!(got.done && got.error.is_none() && !got.content.is_empty());
    let mock = starter.await.unwrap();
    assert_eq!(mock.chat_bodies().len(), 1);
}

#[tokio::test]
async fn a_host_that_resolves_to_nothing_gets_502() {
    let proxy = Proxy::start(&config("http://no-such-host.invalid/v1", "rules = []")).await;
    let error = error_of(proxy.chat(&request(false)).await, 502).await;
    assert_eq!(error["code"], "upstream_unreachable");
}

#[tokio::test]
async fn a_stream_longer_than_max_stream_ms_ends_with_an_error_event() {
    let script = selfbrake_tests::Script::default().delay(std::time::Duration::from_millis(50));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let cfg = config(&mock.base_url(), "rules = []").replace(
        "idle_timeout_ms = 2000\n",
        "idle_timeout_ms = 2000\nmax_stream_ms = 300\n",
    );
    let proxy = Proxy::start(&cfg).await;
    let started = std::time::Instant::now();
    let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
    assert_eq!(
        got.error.expect("an error event")["code"],
        "upstream_timeout"
    );
    assert!(got.done);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn client_headers_and_keys_are_not_forwarded_upstream() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let cfg = config(&mock.base_url(), "rules = []").replace(
        "idle_timeout_ms = 2000\n",
        "idle_timeout_ms = 2000\napi_key_env = \"SELFBRAKE_TEST_UPSTREAM_KEY\"\n",
    );
    std::env::set_var("SELFBRAKE_TEST_UPSTREAM_KEY", "sk-upstream");
    let proxy = Proxy::start(&cfg).await;
    let response = client()
        .post(proxy.url("/v1/chat/completions"))
        .bearer_auth("sk-client-secret")
        .header("x-internal-trace", "do-not-forward")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent = &mock.requests()[0];
    assert_eq!(sent.authorization.as_deref(), Some("Bearer sk-upstream"));
    assert!(!sent.body.to_string().contains("sk-client-secret"));
    assert!(
        !sent.header_names.iter().any(|h| h == "x-internal-trace"),
        "client headers reached the upstream: {:?}",
        sent.header_names
    );
}
