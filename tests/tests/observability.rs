//! What operators see of a request: the trace context and request id the
//! upstream gets, `/readyz`, and the latency and token histograms on the
//! admin listener's `/metrics`.
mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header;

use common::{client, config, read_sse, request, Proxy};
use selfbrake::admin_router;
use selfbrake_tests::metrics::{sample, scrape};
use selfbrake_tests::{MockConfig, MockUpstream, RecordedRequest, Script};
use serde_json::{json, Value};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Brakes after 3 reasoning tokens, so a request makes a continuation too.
fn braking_policy() -> &'static str {
    "answer_max_tokens = 16\nrules = [{ kind = \"budget\", max_reasoning_tokens = 3 }]"
}

fn script() -> Script {
    Script::new(
        "Two plus two. That is 4. Let me check again, 2 + 2 = 4. Yes.",
        "The answer is 4.",
    )
}

fn chat_requests(mock: &MockUpstream) -> Vec<RecordedRequest> {
    let requests = mock.requests().into_iter();
    requests
        .filter(|r| r.path == "/v1/chat/completions")
        .collect()
}

#[tokio::test]
async fn chat_and_continuation_carry_the_clients_trace_context_and_request_id() {
    let mock = MockUpstream::start(MockConfig::with_script(script())).await;
    let proxy = Proxy::start(&config(&mock.base_url(), braking_policy())).await;

    let response = client()
        .post(proxy.url("/v1/chat/completions"))
        .header("traceparent", TRACEPARENT)
        .header("tracestate", "vendor=opaque")
        .header("x-request-id", "req-observability-1")
        .json(&request(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-observability-1");
    read_sse(response).await;

    let upstream = chat_requests(&mock);
    assert_eq!(upstream.len(), 2, "the request and its continuation");
    assert!(upstream[1].continuation);
    for sent in &upstream {
        // Tracing is off in this process: the client's context goes on as it came.
        assert_eq!(sent.header("traceparent"), Some(TRACEPARENT));
        assert_eq!(sent.header("tracestate"), Some("vendor=opaque"));
        assert_eq!(sent.header("x-request-id"), Some("req-observability-1"));
        assert_eq!(sent.header("authorization"), None);
    }
}

#[tokio::test]
async fn the_upstream_gets_the_request_id_the_response_carries() {
    let mock = MockUpstream::start(MockConfig::with_script(script())).await;
    let proxy = Proxy::start(&config(&mock.base_url(), braking_policy())).await;

    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!id.is_empty() && id != "-");

    let upstream = chat_requests(&mock);
    assert_eq!(upstream.len(), 2);
    for sent in &upstream {
        assert_eq!(sent.header("x-request-id"), Some(id.as_str()));
        assert_eq!(sent.header("traceparent"), None, "none sent, none made up");
    }
}

/// A backend that lists one model and closes every connection after its
/// answer (so that stopping it leaves no pooled connection behind), with
/// the count of lists it served.
async fn models_backend() -> (String, tokio::task::JoinHandle<()>, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let list = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            let body = json!({"object": "list", "data": [{"id": "m", "object": "model"}]});
            ([(header::CONNECTION, "close")], axum::Json(body))
        }
    };
    let app = axum::Router::new().route("/v1/models", axum::routing::get(list));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, task, served)
}

#[tokio::test]
async fn readyz_follows_the_backend_and_needs_no_key() {
    let (url, backend, served) = models_backend().await;
    let toml = common::acme::toml(&url, "", "requests_per_minute = 1");
    let proxy = Proxy::start(&toml).await;

    // Probes carry no key, and are not counted against the tenant.
    for _ in 0..3 {
        let ready = client().get(proxy.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
    }
    assert_eq!(
        served.load(Ordering::SeqCst),
        1,
        "three probes, one backend check"
    );
    let listed = client()
        .get(proxy.url("/v1/models"))
        .bearer_auth("sk-acme")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.status(),
        200,
        "the tenant's one request a minute is still there"
    );

    backend.abort();
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let probe = client().get(proxy.url("/readyz")).send().await.unwrap();
        if probe.status() == 503 {
            break probe.json::<Value>().await.unwrap();
        }
        assert_eq!(probe.status(), 200);
        assert!(
            Instant::now() < deadline,
            "/readyz still 200 with the backend gone"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["status"], "unready");
    assert_eq!(body["unreachable"]["default"], "unreachable");
}

/// The admin listener of `proxy`'s state, as `serve` runs it.
async fn admin(proxy: &Proxy) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = admin_router(proxy.state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn metrics_show_time_to_first_token_duration_and_reasoning_tokens() {
    let mock = MockUpstream::start(MockConfig::with_script(
        script().delay(Duration::from_millis(20)),
    ))
    .await;
    let proxy = Proxy::start(&config(&mock.base_url(), braking_policy())).await;
    let admin = admin(&proxy).await;

    let started = Instant::now();
    read_sse(proxy.chat(&request(true)).await).await;
    let took = started.elapsed().as_secs_f64();

    let text = scrape(&format!("http://{admin}/metrics"), None).await;
    let ttft = "selfbrake_time_to_first_token_seconds";
    assert_eq!(
        sample(&text, &format!("{ttft}_count{{tenant=\"anyone\"}}")),
        Some(1.0)
    );
    let first = sample(&text, &format!("{ttft}_sum{{tenant=\"anyone\"}}")).unwrap();
    // The mock waits 20 ms before its first token; the whole request took longer.
    assert!(
        first >= 0.02 && first < took,
        "ttft {first}, request {took}"
    );

    let duration = "selfbrake_request_duration_seconds";
    let labels = "{tenant=\"anyone\",outcome=\"braked\"}";
    assert_eq!(
        sample(&text, &format!("{duration}_count{labels}")),
        Some(1.0)
    );
    let whole = sample(&text, &format!("{duration}_sum{labels}")).unwrap();
    assert!(
        whole > first && whole <= took,
        "duration {whole}, ttft {first}, request {took}"
    );

    let tokens = "selfbrake_request_reasoning_tokens";
    let labels = "{tenant=\"anyone\",braked=\"true\"}";
    assert_eq!(sample(&text, &format!("{tokens}_count{labels}")), Some(1.0));
    assert_eq!(sample(&text, &format!("{tokens}_sum{labels}")), Some(3.0));
}
