//! Hot reload: on any change in the config file's directory, and on SIGHUP,
//! the config is read again; when its content changed it is parsed,
//! validated and built (on a blocking thread: an embedded engine loads for
//! seconds), then swapped in atomically. An invalid config is logged and
//! counted, and the old one keeps serving.
//!
//! What is watched, and why a log beside the config costs nothing: see
//! `watch.rs`.
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::{Config, ConfigError};
use crate::gateway::{Gateway, SharedGateway};
use crate::metrics::{Metrics, ResultLabels};

mod watch;

/// Loads `path` and, if valid, makes it serve new requests. Blocking (it
/// may load an embedded engine).
pub fn reload(
    gateways: &SharedGateway,
    metrics: &Metrics,
    path: &Path,
    listen: &str,
) -> Result<(), ConfigError> {
    let result = Config::load(path).and_then(|config| {
        if config.server.listen != listen {
            tracing::warn!(old = listen, new = %config.server.listen, "server.listen changes only on restart");
        }
        Gateway::rebuild(&config, Some(&gateways.current()))
    });
    let label = ResultLabels {
        result: if result.is_ok() { "ok" } else { "error" }.into(),
    };
    metrics.reloads.get_or_create(&label).inc();
    match result {
        Ok(gateway) => {
            gateways.replace(gateway);
            tracing::info!(config = %path.display(), "config reloaded");
            Ok(())
        }
        Err(error) => {
            tracing::error!(config = %path.display(), error = %error, "config reload rejected; keeping the old config");
            Err(error)
        }
    }
}

/// The content hash of `path`, or `None` while it cannot be read (a swap
/// in progress).
fn content_hash(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path)
        .ok()
        .map(|bytes| Sha256::digest(&bytes).into())
}

/// Watches `path`'s directory (on Linux) and SIGHUP for the life of the
/// process.
pub fn spawn(
    gateways: SharedGateway,
    metrics: Metrics,
    path: PathBuf,
    listen: String,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Trigger>();
    watch::spawn(&path, tx.clone())?;
    tokio::spawn(async move {
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            while hup.recv().await.is_some() {
                if tx.send(Trigger::Hangup).is_err() {
                    break;
                }
            }
        }
    });
    tokio::spawn(async move {
        let mut loaded = content_hash(&path);
        while let Some(first) = rx.recv().await {
            // Let a burst of writes settle, then look once.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut forced = first == Trigger::Hangup;
            while let Ok(more) = rx.try_recv() {
                forced |= more == Trigger::Hangup;
            }
            let now = content_hash(&path);
            if now.is_none() || (now == loaded && !forced) {
                continue;
            }
            loaded = now;
            let (gateways, metrics, path, listen) = (
                gateways.clone(),
                metrics.clone(),
                path.clone(),
                listen.clone(),
            );
            let _ =
                tokio::task::spawn_blocking(move || reload(&gateways, &metrics, &path, &listen))
                    .await;
        }
    });
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// Something in the directory changed.
    Changed,
    /// SIGHUP: reload even if the file looks the same.
    Hangup,
}
