use std::path::PathBuf;

use anyhow::Context;
use axum::serve::ListenerExt;
use selfbrake::config::Config;
use selfbrake::{router, AppState, Gateway};
use tracing_subscriber::EnvFilter;

/// `selfbrake serve`
pub fn run(path: Option<PathBuf>, listen: Option<String>, json_logs: bool) -> anyhow::Result<()> {
    init_tracing(json_logs);
    let mut config = match &path {
        Some(path) => Config::load(path).with_context(|| format!("loading {}", path.display()))?,
        None => default_config()?,
    };
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    let gateway = Gateway::build(&config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        let shown = path.as_ref().map_or_else(|| "(built in: embedded engine)".to_string(), |p| p.display().to_string());
        tracing::info!(listen = %listener.local_addr()?, config = %shown, "selfbrake serving");
        let state = AppState::new(gateway);
        let _watcher = path
            .as_ref()
            .map(|p| selfbrake::reload::spawn(state.clone(), p.clone(), config.server.listen.clone()))
            .transpose()
            .context("watching the config file")?;
        let app = router(state);
        let grace = std::time::Duration::from_millis(config.server.shutdown_grace_ms);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        // Each SSE write must leave at once: without TCP_NODELAY, Nagle holds
        // a small write until the client ACKs the previous one (up to its
        // 40 ms delayed ACK).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set on a client connection");
            }
        });
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stopping_tx.send(());
        });
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            result = server => result?,
            () = deadline => tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; closing the remaining streams"),
        }
        Ok(())
    })
}

/// `serve` without `--config`: the embedded engine on a local GGUF model,
/// the shipped `default` policy, `127.0.0.1:8787`.
#[cfg(feature = "embedded")]
fn default_config() -> anyhow::Result<Config> {
    use selfbrake::config::{BackendConfig, MistralrsBackendConfig};

    let model = default_model()?;
    let mut config = Config::from_toml_str("")?;
    let mut backend = MistralrsBackendConfig::new(model.display().to_string());
    // Models without a reasoning format (the default SmolLM2) reason inside
    // an opened think block; `SELFBRAKE_THINK_PREFILL=0` turns that off.
    backend.think_prefill = std::env::var("SELFBRAKE_THINK_PREFILL").map_or(true, |v| v != "0");
    tracing::info!(gguf = %model.display(), think_prefill = backend.think_prefill, "no --config: serving the embedded engine");
    config
        .backends
        .insert("default".into(), BackendConfig::Mistralrs(backend));
    Ok(config)
}

#[cfg(not(feature = "embedded"))]
fn default_config() -> anyhow::Result<Config> {
    anyhow::bail!(
        "no config given: pass --config FILE (see examples/vllm.toml), or set SELFBRAKE_CONFIG \
         (a build with `--features embedded` serves a local GGUF model without one)"
    )
}

/// `SELFBRAKE_MODEL`, else the first `models/*.gguf` under the working directory.
#[cfg(feature = "embedded")]
fn default_model() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SELFBRAKE_MODEL") {
        return Ok(PathBuf::from(path));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("models")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().next().context(
        "no model: set SELFBRAKE_MODEL=/path/to/model.gguf, or put a .gguf file in ./models \
         (`scripts/get-model.sh` downloads SmolLM2-135M-Instruct, 98 MB, into models/), \
         or pass --config FILE to use an inference server (see examples/vllm.toml)",
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: no new connections, finishing streams");
}

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
