//! Hot reload under load: nothing dropped, new policy within a second,
//! an invalid file changes nothing.
mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assemble, client, json_of, read_sse, request};
use selfbrake::config::Config;
use selfbrake::{router, AppState, Gateway};
use selfbrake_tests::{MockConfig, MockUpstream, Script};

fn config_text(base_url: &str, policy: &str) -> String {
    format!(
        r#"
[backends.default]
kind = "openai"
base_url = "{base_url}"

[policies.alpha]
rules = []
[policies.beta]
rules = [{{ kind = "budget", max_reasoning_tokens = 1000 }}]
[policies.gamma]
rules = [{{ kind = "budget", max_reasoning_tokens = 2000 }}]

[tenants.anyone]
anonymous = true
backend = "default"
policy = "{policy}"
"#
    )
}

/// Writes like a config manager: a temporary file renamed over the old one.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("selfbrake-reload-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn current_policy(url: &str) -> String {
    let body = json_of(client().post(url).json(&request(false))).await;
    body["selfbrake"]["policy"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

async fn wait_for_policy(url: &str, policy: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if current_policy(url).await == policy {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("policy {policy} not in force within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_drops_nothing() {
    let mock = MockUpstream::start(MockConfig::with_script(
        Script::default().delay(Duration::from_millis(3)),
    ))
    .await;
    let dir = temp_dir();
    let path = dir.join("selfbrake.toml");
    std::fs::write(&path, config_text(&mock.base_url(), "alpha")).unwrap();
    let config = Config::load(&path).unwrap();
    let state = AppState::new(Gateway::build(&config).unwrap());
    selfbrake::reload::spawn(
        state.gateways.clone(),
        state.metrics.clone(),
        path.clone(),
        config.server.listen.clone(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Load: 16 clients streaming back to back.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (stop, failures, url) = (stop.clone(), failures.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut done = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let response = client()
                    .post(&url)
                    .json(&request(true))
                    .send()
                    .await
                    .unwrap();
                if response.status() != 200 {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("status {}", response.status()));
                    continue;
                }
                let got = assemble(&read_sse(response).await);
                if !got.done
                    || got.error.is_some()
                    || got.selfbrake.is_none()
                    || got.content.is_empty()
                {
                    failures.lock().unwrap().push(format!("{got:?}"));
                }
                done += 1;
            }
            done
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(current_policy(&url).await, "alpha");

    replace_file(&path, &config_text(&mock.base_url(), "beta"));
    let took = wait_for_policy(&url, "beta", Duration::from_secs(1)).await;
    eprintln!("beta in force after {took:?}");

    // An invalid file (a tenant naming a missing backend) changes nothing.
    replace_file(
        &path,
        &config_text(&mock.base_url(), "beta")
            .replace("backend = \"default\"", "backend = \"nope\""),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(current_policy(&url).await, "beta");
    // Nor does a file that is not TOML, written in place.
    std::fs::write(&path, "this is [not toml").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(current_policy(&url).await, "beta");

    std::fs::write(&path, config_text(&mock.base_url(), "gamma")).unwrap();
    wait_for_policy(&url, "gamma", Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.store(true, Ordering::Relaxed);
    let mut completed = 0;
    for worker in workers {
        completed += worker.await.unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} requests failed during reloads: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(
        completed >= 32,
        "only {completed} requests completed under load"
    );

    let metrics = state.metrics.render();
    let count = |result: &str| {
        let series = format!("selfbrake_config_reloads_total{{result=\"{result}\"}}");
        selfbrake_tests::metrics::sample(&metrics, &series).unwrap_or(0.0)
    };
    assert!(count("ok") >= 2.0, "{metrics}");
    assert!(count("error") >= 2.0, "{metrics}");
    std::fs::remove_dir_all(dir).ok();
}

/// Writes `text` the way a Kubernetes ConfigMap volume does: a new
/// timestamped directory, a `..data_tmp` symlink to it renamed over
/// `..data`. No event names `selfbrake.toml`, which links through `..data`.
fn configmap_update(dir: &Path, version: &str, text: &str) {
    let versioned = dir.join(format!("..{version}"));
    std::fs::create_dir_all(&versioned).unwrap();
    std::fs::write(versioned.join("selfbrake.toml"), text).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("..{version}"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configmap_symlink_swap_is_picked_up() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let dir = temp_dir();
    configmap_update(
        &dir,
        "2026_12_02_v1",
        &config_text(&mock.base_url(), "alpha"),
    );
    let path = dir.join("selfbrake.toml");
    std::os::unix::fs::symlink("..data/selfbrake.toml", &path).unwrap();
    let config = Config::load(&path).unwrap();
    let state = AppState::new(Gateway::build(&config).unwrap());
    selfbrake::reload::spawn(
        state.gateways.clone(),
        state.metrics.clone(),
        path.clone(),
        config.server.listen.clone(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    assert_eq!(current_policy(&url).await, "alpha");

    configmap_update(
        &dir,
        "2026_12_02_v2",
        &config_text(&mock.base_url(), "beta"),
    );
    let took = wait_for_policy(&url, "beta", Duration::from_secs(2)).await;
    eprintln!("ConfigMap update in force after {took:?}");
    std::fs::remove_dir_all(dir).ok();
}
