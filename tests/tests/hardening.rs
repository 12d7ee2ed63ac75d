//! Clients that hold resources (slow headers, stalled readers, streams
//! past their deadline, more streams than the server takes) and limits
//! lowered by a reload: each proven over real HTTP against the real
//! connection loop.
mod common;

use std::time::{Duration, Instant};

use common::acme::{as_acme, start, toml};
use common::{client, request};
use selfbrake::config::Config;
use selfbrake::Gateway;
use selfbrake_tests::{MockConfig, MockUpstream, Script};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
