//! `selfbrake serve` writes its log lines from a thread of its own; the
//! lines still queued when the process is told to stop reach stderr before
//! it exits, in the order they were logged.
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_queued_at_sigterm_reach_stderr_before_exit() {
    let dir = std::env::temp_dir().join(format!("selfbrake-logexit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    let port = free_port();
    let mut file = std::fs::File::create(&path).unwrap();
    // The backend is down: every request fails with 502 and logs one line.
    write!(
        file,
        "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"\"\n\
         [backends.default]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n"
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // Only now is the pipe drained, and slowly, as by a busy log collector:
    // the process must not exit before the queued lines are out.
    let mut pipe = server.stderr.take().unwrap();
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
    let status = server.wait().unwrap();
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
    std::fs::remove_dir_all(dir).ok();
}
