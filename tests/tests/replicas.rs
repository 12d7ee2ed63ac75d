//! Two selfbrake replicas that share nothing but a real `redis-server`
//! (`[limits] store = "redis"`): a tenant's limits hold across both.
mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{client, request};
use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake::{router, AppState, Gateway};
use selfbrake_tests::{MockConfig, MockUpstream, Script};

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis() -> (Redis, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (apt-get install -y redis-server)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Redis(child), port)
}

/// One replica: its own gateway, limiter and listener.
async fn replica(upstream: &str, redis_port: u16) -> String {
    let toml = format!(
        r#"
[limits]
store = "redis"
redis_url = "redis://127.0.0.1:{redis_port}/"
on_store_error = "closed"

[backends.default]
kind = "openai"
base_url = "{upstream}"

[policies.test]
rules = []

[tenants.acme]
api_keys = ["{}"]
backend = "default"
policy = "test"
requests_per_minute = 3
max_concurrent_requests = 1
"#,
        hash_key("sk-acme")
    );
    let state = AppState::new(Gateway::build(&Config::from_toml_str(&toml).unwrap()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    url
}

#[tokio::test]
async fn a_tenants_limits_hold_across_replicas() {
    let (_redis, port) = redis();
    let slow = Script::new("slow ".repeat(100), "4").delay(Duration::from_millis(10));
    let mock = MockUpstream::start(MockConfig::with_script(slow)).await;
    let (a, b) = (
        replica(&mock.base_url(), port).await,
        replica(&mock.base_url(), port).await,
    );
    let send = |url: &str, stream: bool| {
        client()
            .post(url)
            .bearer_auth("sk-acme")
            .json(&request(stream))
            .send()
    };

    // Concurrency: one stream in flight on A; B refuses a second one.
    let held = send(&a, true).await.unwrap();
    assert_eq!(held.status(), 200);
    let second = send(&b, false).await.unwrap();
    assert_eq!(
        second.status(),
        429,
        "B admitted past the shared concurrency limit"
    );
    drop(held);

    // Rate: 3 a minute in all, whichever replica serves them (the held
    // stream was one). Wait for its lease to be released first.
    let mut statuses = Vec::new();
    for url in [&b, &a, &b] {
        let mut status = 0;
        for _ in 0..50 {
            status = send(url, false).await.unwrap().status().as_u16();
            if status != 429 || !statuses.is_empty() && statuses.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert_eq!(
        statuses[2], 429,
        "the fourth request in a minute passed: {statuses:?}"
    );
}
