use std::path::PathBuf;

use anyhow::Context;
use selfbrake::config::Config;
use selfbrake::{router, AppState, Gateway};
use tracing_subscriber::EnvFilter;

/// `selfbrake serve`
pub fn run(config: Option<PathBuf>, listen: Option<String>, json_logs: bool) -> anyhow::Result<()> {
    init_tracing(json_logs);
    let path = config.context(
        "no config given: pass --config FILE (see examples/vllm.toml), or set SELFBRAKE_CONFIG",
    )?;
    let mut config = Config::load(&path).with_context(|| format!("loading {}", path.display()))?;
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    let gateway = Gateway::build(&config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        tracing::info!(listen = %listener.local_addr()?, config = %path.display(), "selfbrake serving");
        let state = AppState::new(gateway);
        let _watcher = selfbrake::reload::spawn(state.clone(), path.clone(), config.server.listen.clone())
            .context("watching the config file")?;
        let app = router(state);
        let grace = std::time::Duration::from_millis(config.server.shutdown_grace_ms);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
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
