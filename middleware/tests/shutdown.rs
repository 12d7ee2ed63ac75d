//! SIGTERM: the server stops accepting, lets streams in flight finish, exits.
mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Served;
use futures::StreamExt;
use selfbrake_tests::{MockConfig, MockUpstream, Script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_streams_in_flight_finish_then_exits() {
    streams_finish_after_sigterm(1, 1).await;
}

/// Every serving thread stops accepting and finishes its own streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_serving_threads_every_stream_finishes() {
    streams_finish_after_sigterm(3, 6).await;
}

async fn streams_finish_after_sigterm(threads: usize, streams: usize) {
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
                 worker_threads = {threads}\n\
                 [backends.default]\nkind = \"openai\"\nbase_url = \"{upstream}\"\n"
            )
        },
        Stdio::null(),
    )
    .await;
    let base = served.base.clone();
    let client = reqwest::Client::new();

    assert_eq!(
        serving_threads(served.child.id()),
        threads,
        "serving threads started"
    );
    // Each stream on a connection of its own, so they land on several threads.
    let mut bodies = Vec::new();
    for _ in 0..streams {
        let response = reqwest::Client::new()
            .post(format!("{base}/v1/chat/completions"))
            .json(&serde_json::json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "2+2?"}]}))
            .send()
            .await
            .unwrap();
        let mut body = response.bytes_stream();
        let first = body.next().await.unwrap().unwrap();
        assert!(first.starts_with(b"data: "));
        bodies.push((Vec::from(&first[..]), body));
    }

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

    // The streams in flight still end well.
    for (mut text, mut body) in bodies {
        while let Some(chunk) = body.next().await {
            text.extend_from_slice(&chunk.unwrap());
        }
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.ends_with("data: [DONE]\n\n"),
            "stream cut by shutdown: {text}"
        );
        assert!(text.contains("\"selfbrake\""));
    }

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

/// Threads named `selfbrake-serve-N` (Linux keeps 15 bytes of a name).
fn serving_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("selfbrake-serve"))
        })
        .count()
}
