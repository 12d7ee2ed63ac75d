//! Hot reload: on a change of the config file, and on SIGHUP, the new config
//! is parsed, validated and built, then swapped in atomically. An invalid
//! config is logged and counted, and the old one keeps serving.
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::error::ProxyError;
use crate::gateway::Gateway;
use crate::metrics::ResultLabels;
use crate::server::AppState;

/// Loads `path` and, if valid, makes it serve new requests.
pub fn reload(state: &AppState, path: &Path, listen: &str) -> Result<(), ProxyError> {
    let result = Config::load(path).and_then(|config| {
        if config.server.listen != listen {
            tracing::warn!(old = listen, new = %config.server.listen, "server.listen changes only on restart");
        }
        Gateway::build(&config)
    });
    let label = ResultLabels {
        result: if result.is_ok() { "ok" } else { "error" }.into(),
    };
    state.metrics.reloads.get_or_create(&label).inc();
    match result {
        Ok(gateway) => {
            state.replace(gateway);
            tracing::info!(config = %path.display(), "config reloaded");
            Ok(())
        }
        Err(error) => {
            tracing::error!(config = %path.display(), error = %error, "config reload rejected; keeping the old config");
            Err(error)
        }
    }
}

/// Watches `path` and SIGHUP for the life of the process. Returns the watcher,
/// which must be kept alive.
pub fn spawn(
    state: AppState,
    path: PathBuf,
    listen: String,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let file_name = path.file_name().map(|n| n.to_owned());
    let watch_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name() == file_name.as_deref());
            if ours && (event.kind.is_modify() || event.kind.is_create()) {
                let _ = watch_tx.send(());
            }
        }
    })?;
    // Watch the directory: editors and config managers replace the file rather than write it.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            while hup.recv().await.is_some() {
                if tx.send(()).is_err() {
                    break;
                }
            }
        }
    });
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let a burst of writes settle, then reload once.
            tokio::time::sleep(Duration::from_millis(100)).await;
            while rx.try_recv().is_ok() {}
            let _ = reload(&state, &path, &listen);
        }
    });
    Ok(watcher)
}
