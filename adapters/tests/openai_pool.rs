//! The `openai` backend's own upstream connections (plain HTTP): kept alive
//! across streams that were read to the end, closed under a stream that
//! was not, and a request on a socket the server dropped is sent again.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Map, Value};

use selfbrake_adapters::openai::{OpenAiBackend, OpenAiConfig};
use selfbrake_adapters::{Backend, BackendEvent};
use selfbrake_tests::raw::{RawConfig, RawUpstream};

fn request() -> Map<String, Value> {
    json!({"model": "mock-model", "messages": [{"role": "user", "content": "2 + 2?"}]})
        .as_object()
        .unwrap()
        .clone()
}

fn backend(upstream: &RawUpstream) -> OpenAiBackend {
    OpenAiBackend::new(OpenAiConfig {
        base_url: upstream.base_url(),
        ..OpenAiConfig::default()
    })
    .unwrap()
}

/// Reads a stream to its end; the reasoning it carried.
async fn read_all(backend: &OpenAiBackend) -> String {
    let mut events = backend.stream(request()).await.expect("stream opens");
    let mut reasoning = String::new();
    while let Some(event) = events.next().await {
        if let BackendEvent::Reasoning(t) = event.expect("no error") {
            reasoning.push_str(&t);
        }
    }
    reasoning
}

#[tokio::test]
async fn streams_read_to_the_end_share_one_connection() {
    let upstream = RawUpstream::start(RawConfig {
        tokens: 20,
        ..RawConfig::default()
    })
    .await;
    let backend = backend(&upstream);
    for _ in 0..3 {
        assert!(read_all(&backend).await.starts_with("t0 t1 "));
    }
    assert_eq!(upstream.requests(), 3);
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn a_response_that_ends_after_done_still_frees_its_connection() {
    let upstream = RawUpstream::start(RawConfig {
        tokens: 5,
        pause: Some((5 + 4, Duration::from_millis(100))),
        ..RawConfig::default()
    })
    .await;
    let backend = backend(&upstream);
    read_all(&backend).await;
    // The stream ended at `[DONE]`; the body's end comes 100 ms later and is
    // read in the background.
    tokio::time::sleep(Duration::from_millis(400)).await;
    read_all(&backend).await;
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn a_stream_dropped_before_done_closes_its_connection() {
    // The generation pauses after 3 events: dropping the stream then must
    // close the connection, which is what stops the engine.
    let upstream = RawUpstream::start(RawConfig {
        tokens: 50,
        pause: Some((3, Duration::from_secs(1))),
        ..RawConfig::default()
    })
    .await;
    let backend = backend(&upstream);
    let mut events = backend.stream(request()).await.unwrap();
    events.next().await.unwrap().unwrap();
    drop(events);
    read_all(&backend).await;
    assert_eq!(
        upstream.connections(),
        2,
        "the abandoned connection was reused"
    );
}

#[tokio::test]
async fn a_connection_the_server_dropped_is_not_a_failed_request() {
    let upstream = RawUpstream::start(RawConfig {
        tokens: 5,
        close_after_response: true,
        ..RawConfig::default()
    })
    .await;
    let backend = backend(&upstream);
    for _ in 0..3 {
        assert!(read_all(&backend).await.starts_with("t0 "));
    }
    assert_eq!(upstream.requests(), 3);
    assert_eq!(upstream.connections(), 3);
}
