//! `selfbrake serve` writes its log lines from a thread of its own; the
//! lines still queued when the process is told to stop reach stderr before
//! it exits, in the order they were logged.
mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use common::Served;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_queued_at_sigterm_reach_stderr_before_exit() {
    // The backend is down: every request fails with 502 and logs one line.
    let mut served = Served::start(
        "logexit",
        |port| {
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"\"\n\
                 [backends.default]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n"
            )
        },
        Stdio::piped(),
    )
    .await;
    let base = served.base.clone();
    let client = reqwest::Client::new();
    // Nobody reads stderr yet: its pipe (64 KiB) fills with the first 200
    // or so lines and the rest wait in the log thread's queue. The requests
    // are answered all the same; a worker that wrote its own lines would
    // hang here.
    const REQUESTS: usize = 600;
    let sent = (0..REQUESTS).map(|_| {
        client
            .post(format!("{base}/v1/chat/completions"))
            .json(
                &serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
    });
    let answered = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(sent))
        .await
        .expect("requests held up by a full log pipe");
    for response in answered {
        assert_eq!(response.unwrap().status(), 502);
    }
    served.sigterm();
    // Only now is the pipe drained, and slowly, as by a busy log collector:
    // the process must not exit before the queued lines are out.
    let mut pipe = served.child.stderr.take().unwrap();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match pipe.read(&mut chunk).unwrap() {
            0 => break,
            n => bytes.extend_from_slice(&chunk[..n]),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stderr = String::from_utf8(bytes).unwrap();
    let status = served.child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");

    let failed = stderr.matches("request failed").count();
    assert_eq!(failed, REQUESTS, "{stderr}");
    let serving = stderr.find("selfbrake serving").expect("start line");
    let first_failure = stderr.find("request failed").unwrap();
    let shutdown = stderr
        .rfind("shutting down")
        .unwrap_or_else(|| panic!("no shutdown line before exit:\n{stderr}"));
    assert!(
        serving < first_failure && first_failure < shutdown,
        "{stderr}"
    );
    assert!(stderr.ends_with('\n'), "a line cut short:\n{stderr}");
}
