//! The `selfbrake serve` process, for the tests that need one of their own:
//! signals, exit, what reaches stderr.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Holds `config.toml`; removed on drop.
    pub dir: PathBuf,
}

impl Served {
    /// Writes the config `config(port)` returns into a directory of its
    /// own, starts `selfbrake serve` on it and waits until `/healthz`
    /// answers (10 s at most).
    pub async fn start(name: &str, config: impl FnOnce(u16) -> String, stderr: Stdio) -> Served {
        let port = free_port();
        // The port too: tests of one binary run at once, in one process.
        let dir =
            std::env::temp_dir().join(format!("selfbrake-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, config(port)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
            .args(["serve", "--config"])
            .arg(&path)
            .stderr(stderr)
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
        Served { child, base, dir }
    }

    pub fn sigterm(&self) {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
