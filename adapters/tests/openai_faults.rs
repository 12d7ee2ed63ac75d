//! `OpenAiBackend` error mapping against the mock's fault modes.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Map, Value};

use selfbrake_adapters::openai::{OpenAiBackend, OpenAiConfig, ERROR_BODY_LIMIT};
use selfbrake_adapters::{AdapterError, Backend, BackendEvent, EventStream, Fault};
use selfbrake_tests::{Misbehaviour, MockConfig, MockUpstream, Script};

fn request() -> Map<String, Value> {
    json!({"model": "mock-model", "messages": [{"role": "user", "content": "What is 2 + 2?"}]})
        .as_object()
        .unwrap()
        .clone()
}

async fn mock_with(fault: Misbehaviour, delay_ms: u64) -> MockUpstream {
    let script = Script::default().delay(Duration::from_millis(delay_ms));
    MockUpstream::start(MockConfig {
        fault,
        ..MockConfig::with_script(script)
    })
    .await
}

fn backend(base_url: String, f: impl FnOnce(&mut OpenAiConfig)) -> OpenAiBackend {
    let mut cfg = OpenAiConfig {
        base_url,
        ..OpenAiConfig::default()
    };
    f(&mut cfg);
    OpenAiBackend::new(cfg).unwrap()
}

/// Events before the error, the error, and how many items came after it.
async fn drain(mut s: EventStream) -> (Vec<BackendEvent>, Option<AdapterError>, usize) {
    let (mut events, mut error, mut after) = (Vec::new(), None, 0);
    while let Some(item) = s.next().await {
        match item {
            _ if error.is_some() => after += 1,
            Ok(e) => events.push(e),
            Err(e) => error = Some(e),
        }
    }
    (events, error, after)
}

async fn stream_error(mock: &MockUpstream, f: impl FnOnce(&mut OpenAiConfig)) -> AdapterError {
    let be = backend(mock.base_url(), f);
    let s = be.stream(request()).await.expect("headers");
    let (_, error, after) = drain(s).await;
    assert_eq!(after, 0, "the stream ends after an error");
    error.expect("an error item")
}

#[tokio::test]
async fn status_errors_carry_the_body() {
    let mock = mock_with(Misbehaviour::status(400, "max_tokens is too large"), 0).await;
    let be = backend(mock.base_url(), |_| {});
    match be.stream(request()).await {
        Err(e @ AdapterError::Status { .. }) => {
            assert_eq!(e.fault(), Fault::Client);
            let AdapterError::Status { status, body } = e else {
                unreachable!()
            };
            assert_eq!(status, 400);
            assert!(body.contains("max_tokens is too large"));
        }
        other => panic!("{:?}", other.err()),
    }
    let huge = Misbehaviour::Status {
        status: 503,
        body: "x".repeat(100_000),
        content_type: "text/plain".into(),
    };
    mock.set_fault(huge);
    match be.stream(request()).await {
        Err(AdapterError::Status { status: 503, body }) => assert_eq!(body.len(), ERROR_BODY_LIMIT),
        other => panic!("{:?}", other.err()),
    }
}

#[tokio::test]
async fn connection_refused_is_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let be = backend(format!("http://{addr}/v1"), |_| {});
    assert!(matches!(
        be.stream(request()).await.err(),
        Some(AdapterError::Connect(_))
    ));
    assert!(matches!(be.models().await, Err(AdapterError::Connect(_))));
}

#[tokio::test]
async fn no_headers_is_a_first_byte_timeout() {
    let mock = mock_with(Misbehaviour::HangBeforeHeaders, 0).await;
    let be = backend(mock.base_url(), |c| {
        c.first_byte_timeout = Duration::from_millis(150)
    });
    let t = Instant::now();
    let e = be.stream(request()).await.err().unwrap();
    assert!(matches!(e, AdapterError::Timeout(_)), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn stall_is_an_idle_timeout() {
    let mock = mock_with(Misbehaviour::StallAfter { chunks: 3 }, 0).await;
    let e = stream_error(&mock, |c| c.idle_timeout = Duration::from_millis(150)).await;
    assert!(
        matches!(&e, AdapterError::Timeout(m) if m.contains("no data")),
        "{e:?}"
    );
    // The upstream connection is closed once the error is out.
    assert!(mock.wait_closed(0, Duration::from_secs(1)).await.is_some());
}

#[tokio::test]
async fn slow_stream_hits_max_stream() {
    let mock = mock_with(Misbehaviour::None, 30).await;
    let e = stream_error(&mock, |c| c.max_stream = Duration::from_millis(200)).await;
    assert!(
        matches!(&e, AdapterError::Timeout(m) if m.contains("longer than")),
        "{e:?}"
    );
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    for fault in [
        Misbehaviour::MalformedSse,
        Misbehaviour::InvalidJson,
        Misbehaviour::HugeLine(4096),
    ] {
        let mock = mock_with(fault.clone(), 0).await;
        let e = stream_error(&mock, |c| c.max_line_bytes = 1024).await;
        assert!(matches!(e, AdapterError::Protocol(_)), "{fault:?}: {e:?}");
    }
}

#[tokio::test]
async fn a_huge_line_under_the_limit_is_fine() {
    let mock = mock_with(Misbehaviour::HugeLine(100_000), 0).await;
    let be = backend(mock.base_url(), |_| {});
    let (events, error, _) = drain(be.stream(request()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    let long = events
        .iter()
        .any(|e| matches!(e, BackendEvent::Content(s) if s.len() == 100_000));
    assert!(long);
}

#[tokio::test]
async fn broken_connection_is_closed() {
    let mock = mock_with(Misbehaviour::CloseMidStream { after_chunks: 4 }, 0).await;
    let e = stream_error(&mock, |_| {}).await;
    assert!(matches!(e, AdapterError::Closed(_)), "{e:?}");
}

#[tokio::test]
async fn clean_end_without_done_is_closed() {
    let mock = mock_with(Misbehaviour::EndWithoutDone { after_chunks: 4 }, 0).await;
    let e = stream_error(&mock, |_| {}).await;
    assert!(
        matches!(&e, AdapterError::Closed(m) if m.contains("[DONE]")),
        "{e:?}"
    );
}

#[tokio::test]
async fn models_status_error() {
    let mock = mock_with(Misbehaviour::None, 0).await;
    let be = backend(format!("{}/nope", mock.base_url()), |_| {});
    assert!(matches!(
        be.models().await,
        Err(AdapterError::Status { status: 404, .. })
    ));
}

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_converted() {
    let body = json!({"id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "mock-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "reasoning_content": "r", "content": "a"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}});
    let fault = Misbehaviour::Status {
        status: 200,
        body: body.to_string(),
        content_type: "application/json".into(),
    };
    let mock = mock_with(fault, 0).await;
    let be = backend(mock.base_url(), |_| {});
    let (events, error, _) = drain(be.stream(request()).await.unwrap()).await;
    assert!(error.is_none());
    assert!(events.contains(&BackendEvent::Reasoning("r".into())));
    assert!(events.contains(&BackendEvent::Content("a".into())));
    assert!(events.contains(&BackendEvent::Finish("stop".into())));
    assert!(matches!(events.last(), Some(BackendEvent::Usage(_))));
}

#[tokio::test]
async fn a_json_answer_larger_than_the_cap_is_refused_not_read() {
    use axum::routing::post;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(64 * 1024));
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let big = big.clone();
            async move { ([("content-type", "application/json")], big) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let be = backend(base, |c| c.max_response_bytes = 4096);
    let err = match be.stream(request()).await {
        Err(e) => e,
        Ok(_) => panic!("a 64 KiB body was accepted under a 4 KiB cap"),
    };
    assert!(matches!(err, AdapterError::Protocol(_)), "{err:?}");
    assert!(err.to_string().contains("4096"), "{err}");
}
