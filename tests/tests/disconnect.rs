//! A client that disconnects, during the reasoning, during the answer or
//! while the continuation starts: the upstream request it caused is closed
//! at once, and every task and slot of the request is released.
mod common;

use std::time::{Duration, Instant};

use common::{config, request, Proxy};
use futures::StreamExt;
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};

/// Tasks alive on the test's runtime: the mock's, the proxy's and the
/// clients' connection tasks all run on it.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Nothing of the request outlives it: its stream is no longer counted in
/// flight (the gauge drops when the response body, and with it the session,
/// the upstream stream and the concurrency slot, is dropped), and every task
/// it started (the client's and upstream connections on both sides) has
/// ended: the runtime is back to the tasks alive before the request.
async fn assert_released(proxy: &Proxy, tasks_before: usize) {
    let mut in_flight = true;
    for _ in 0..500 {
        in_flight = proxy.state.metrics.streams_in_flight.get() != 0;
        if !in_flight && alive_tasks() <= tasks_before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        !in_flight,
        "a stream is still in flight after the client left"
    );
    panic!(
        "{} tasks alive after the client left, {tasks_before} before the request",
        alive_tasks()
    );
}

/// Waits for the mock's stream `index` to close, and checks it closed within
/// 100 ms of the client leaving at `dropped`, before its end.
async fn assert_closed_soon(mock: &MockUpstream, index: usize, dropped: Instant) {
    let record = mock
        .wait_closed(index, Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("upstream stream {index} never closed"));
    let lag = record.closed_at.unwrap().saturating_duration_since(dropped);
    eprintln!("upstream stream {index} closed {lag:?} after the client left");
    assert!(
        lag < Duration::from_millis(100),
        "upstream stream {index} closed {lag:?} after the client left"
    );
    assert!(!record.completed);
}

/// Reads `response` until `stop` says so, then drops it; returns when.
async fn read_then_disconnect(
    response: reqwest::Response,
    mut stop: impl FnMut(&str) -> bool,
) -> Instant {
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = body.next().await {
        seen.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        if stop(&seen) {
            break;
        }
    }
    drop(body);
    Instant::now()
}

/// Streams r1-gsm8k-5, a token every `delay_ms`, from a mock that `setup`
/// adjusts, through a proxy braking at `budget` tokens; leaves once `stop`
/// says so, and checks that the mock's stream `index` closed within 100 ms
/// and that nothing of the request outlived it. Returns the mock.
async fn disconnect_case(
    delay_ms: u64,
    setup: impl FnOnce(&mut MockConfig),
    budget: u64,
    stop: impl FnMut(&str) -> bool,
    index: usize,
) -> MockUpstream {
    let t = trace("r1-gsm8k-5");
    let mut cfg =
        MockConfig::with_script(Script::from_trace(&t).delay(Duration::from_millis(delay_ms)));
    setup(&mut cfg);
    let mock = MockUpstream::start(cfg).await;
    let proxy = Proxy::start(&config(&mock.base_url(), &format!("answer_max_tokens = 64\nrules = [{{ kind = \"budget\", max_reasoning_tokens = {budget} }}]"))).await;
    let tasks_before = alive_tasks();
    let response = proxy.chat(&request(true)).await;
    let dropped = read_then_disconnect(response, stop).await;
    assert_closed_soon(&mock, index, dropped).await;
    assert_released(&proxy, tasks_before).await;
    mock
}

#[tokio::test]
async fn client_disconnect_during_reasoning_closes_the_upstream() {
    let stop = |s: &str| s.matches("reasoning_content").count() >= 5;
    let mock = disconnect_case(5, |_| {}, 1_000_000, stop, 0).await;
    assert_eq!(
        mock.chat_bodies().len(),
        1,
        "no continuation for a client that left"
    );
}

#[tokio::test]
async fn client_disconnect_during_the_answer_closes_the_continuation() {
    let answer =
        "The answer is one hundred and sixty, so \\boxed{160} it is, written out at length.";
    let setup = |cfg: &mut MockConfig| cfg.continuation_answer = Some(answer.into());
    disconnect_case(5, setup, 10, |s| s.contains("\"content\":\"The"), 1).await;
}

#[tokio::test]
async fn client_disconnect_while_the_continuation_starts_closes_it() {
    // Headers, then nothing: the continuation has started, no token yet.
    let setup = |cfg: &mut MockConfig| {
        cfg.continuation_fault = selfbrake_tests::Misbehaviour::StallAfter { chunks: 0 };
    };
    // The brake statement is the last thing sent before the continuation.
    disconnect_case(2, setup, 10, |s| s.contains("No need to continue"), 1).await;
}
