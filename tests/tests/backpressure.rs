//! A client that stops reading must not make the proxy buffer the upstream:
//! reading from the upstream pauses until the client reads again.
mod common;

use std::time::Duration;

use common::{config, request, Proxy};
use futures::StreamExt;
use selfbrake_tests::{MockConfig, MockUpstream, Script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_pauses_the_upstream() {
    const TOKENS: usize = 200_000; // about 40 MB of SSE
    let reasoning = "step ".repeat(TOKENS);
    let mock = MockUpstream::start(MockConfig::with_script(Script::new(reasoning, "done"))).await;
    // The mock renders all 200,000 chunks before its headers: allow for that.
    let cfg = config(&mock.base_url(), "rules = []").replace(
        "first_byte_timeout_ms = 2000",
        "first_byte_timeout_ms = 30000",
    );
    let proxy = Proxy::start(&cfg).await;
    let response = proxy.chat(&request(true)).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();

    // Stop reading; let every buffer between the mock and us fill up, until
    // the upstream makes no more progress.
    let sent = || mock.streams().first().map_or(0, |s| s.tokens_sent);
    let mut sent_early = sent();
    let mut sent_late;
    let mut waited = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        waited += 1;
        sent_late = sent();
        if sent_late > 0 && sent_late - sent_early < 1_000 || waited == 10 {
            break;
        }
        sent_early = sent_late;
    }
    assert!(
        sent_late < TOKENS / 2,
        "the proxy read ahead {sent_late} of {TOKENS} tokens"
    );
    assert!(
        sent_late - sent_early < 1_000,
        "the upstream kept flowing while the client did not read: {sent_early} → {sent_late}"
    );

    // Reading again resumes the flow, and everything arrives.
    let mut received = 0usize;
    let mut tail = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        received += chunk.len();
        tail.extend_from_slice(&chunk[chunk.len().saturating_sub(400)..]);
        tail = tail.split_off(tail.len().saturating_sub(400));
    }
    let tail = String::from_utf8_lossy(&tail).to_string();
    assert!(
        tail.ends_with("data: [DONE]\n\n") && tail.contains("\"selfbrake\""),
        "{tail}"
    );
    let record = mock
        .wait_closed(0, Duration::from_secs(2))
        .await
        .expect("upstream finished");
    assert!(record.completed);
    assert!(received > TOKENS * 50, "{received} bytes");
    eprintln!("upstream paused at {sent_late} of {TOKENS} tokens while the client did not read");
}
