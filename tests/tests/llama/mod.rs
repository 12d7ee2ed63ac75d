//! A real llama.cpp `llama-server` for the integration suite: started on a
//! free loopback port with the model from the environment, killed on drop.
//!
//! `SELFBRAKE_LLAMA_SERVER` names the binary (built by
//! `scripts/build-llama-server.sh`) and `SELFBRAKE_MODEL` the GGUF
//! (`scripts/get-model.sh`); `scripts/test.sh` sets both. A test run
//! without them fails and says so: these tests are `#[ignore]`d so that a
//! plain `cargo test` does not need the engine, and `scripts/test.sh` runs
//! them with `--ignored`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

/// The path an environment variable names; panics with what to do when it is unset.
pub fn env_path(var: &str, what: &str) -> PathBuf {
    let value = std::env::var_os(var).unwrap_or_else(|| {
        panic!(
            "{var} is not set: it must name {what}. Run scripts/test.sh, which builds \
             llama-server (scripts/build-llama-server.sh) and fetches the model \
             (scripts/get-model.sh), or set {var} yourself."
        )
    });
    let path = PathBuf::from(value);
    assert!(path.exists(), "{var}={} does not exist", path.display());
    path
}

/// Serialises the tests of this suite: one engine at a time on a small
/// machine, so that timing checks measure the proxy, not CPU contention.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running `llama-server`.
pub struct LlamaServer {
    pub port: u16,
    child: Child,
}

impl LlamaServer {
    /// Starts `llama-server` with one slot and the `/slots` endpoint, plus
    /// `extra` arguments, and waits until `/health` says the model is loaded.
    pub async fn start(extra: &[&str]) -> LlamaServer {
        let bin = env_path("SELFBRAKE_LLAMA_SERVER", "the llama-server binary");
        let model = env_path("SELFBRAKE_MODEL", "the SmolLM2-135M-Instruct GGUF");
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.arg("-m")
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-c", "2048", "-np", "1", "-t", "2", "--slots", "--no-webui"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("SELFBRAKE_LLAMA_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let mut server = LlamaServer { port, child };
        server.wait_ready(Duration::from_secs(60)).await;
        server
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_ready(&mut self, limit: Duration) {
        let start = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll llama-server") {
                panic!("llama-server exited while loading: {status} (set SELFBRAKE_LLAMA_LOG=1 to see its log)");
            }
            let health = client.get(self.url("/health")).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "llama-server not ready in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /slots`: one object per slot.
    pub async fn slots(&self) -> Vec<Value> {
        let body: Value = reqwest::get(self.url("/slots"))
            .await
            .expect("GET /slots")
            .json()
            .await
            .expect("/slots is JSON");
        body.as_array().expect("/slots is an array").clone()
    }

    /// True while any slot is generating.
    pub async fn busy(&self) -> bool {
        self.slots()
            .await
            .iter()
            .any(|s| s["is_processing"].as_bool().expect("slot.is_processing"))
    }

    /// A chat completion straight from llama-server (non-stream).
    pub async fn chat(&self, body: &Value) -> Value {
        let resp = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap()
            .post(self.url("/v1/chat/completions"))
            .json(body)
            .send()
            .await
            .expect("llama-server chat");
        let status = resp.status();
        let json: Value = resp.json().await.expect("llama-server JSON");
        assert!(status.is_success(), "llama-server {status}: {json}");
        json
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}
