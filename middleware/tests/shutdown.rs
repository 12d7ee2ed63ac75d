//! SIGTERM: the server stops accepting, lets streams in flight finish, exits.
mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Served;
use futures::StreamExt;
use selfbrake_tests::{MockConfig, MockUpstream, Script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_streams_in_flight_finish_then_exits() {
    // About 30 tokens at 30 ms each: the stream outlives the signal by ~0.8 s.
    let mock = MockUpstream::start(MockConfig::with_script(
        Script::default().delay(Duration::from_millis(30)),
    ))
    .await;
    let upstream = mock.base_url();
    let mut served = Served::start(
        "shutdown",
        |port| {
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:0\"\nshutdown_grace_ms = 10000\n\
                 [backends.default]\nkind = \"openai\"\nbase_url = \"{upstream}\"\n"
            )
        },
        Stdio::null(),
    )
    .await;
    let base = served.base.clone();
    let client = reqwest::Client::new();

    let response = client
        .post(format!("{base}/v1/chat/completions"))
        .json(&serde_json::json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "2+2?"}]}))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));

    served.sigterm();
    let signalled = Instant::now();

    // New connections are refused soon after the signal.
    let mut refused = false;
    while signalled.elapsed() < Duration::from_millis(500) {
        if client.get(format!("{base}/healthz")).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "still accepting connections after SIGTERM");

    // The stream in flight still ends well.
    let mut rest = Vec::from(&first[..]);
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(rest).unwrap();
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "stream cut by shutdown: {text}"
    );
    assert!(text.contains("\"selfbrake\""));

    // And the process exits by itself, cleanly.
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server still running after its streams ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}
