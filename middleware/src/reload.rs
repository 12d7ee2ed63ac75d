//! Hot reload: on any change in the config file's directory, and on SIGHUP,
//! the config is read again; when its content changed it is parsed,
//! validated and built (on a blocking thread: an embedded engine loads for
//! seconds), then swapped in atomically. An invalid config is logged and
//! counted, and the old one keeps serving.
//!
//! The whole directory is watched, because config managers do not write
//! the file in place: editors replace it, and a Kubernetes ConfigMap volume
//! swaps a `..data` symlink, an event that names no file of ours. Events
//! about other files there (a log written beside the config) are ignored,
//! so a busy neighbour costs no wake-ups and no re-reads.
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::{Config, ConfigError};
use crate::gateway::{Gateway, SharedGateway};
use crate::metrics::{Metrics, ResultLabels};

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

/// Watches `path`'s directory and SIGHUP for the life of the process.
/// Returns the watcher, which must be kept alive.
pub fn spawn(
    gateways: SharedGateway,
    metrics: Metrics,
    path: PathBuf,
    listen: String,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Trigger>();
    let watch_tx = tx.clone();
    let name = path.file_name().map(|n| n.to_os_string());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| concerns(&e, name.as_deref())) {
            let _ = watch_tx.send(Trigger::Changed);
        }
    })?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
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
    Ok(watcher)
}

/// Whether `event` may have changed the config named `name`: it names the
/// file, or a `..`-prefixed entry (a ConfigMap's `..data` swap), or no path
/// at all (the watcher lost events and asks for a rescan). Opening or
/// reading a file changes nothing: the reload itself reads the config, and
/// counting that as a change made the watcher re-read it ten times a second
/// for ever.
fn concerns(event: &notify::Event, name: Option<&std::ffi::OsStr>) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    if let EventKind::Access(kind) = event.kind {
        // A file closed after writing is a change (some writers send
        // nothing else); any other access is a read.
        return kind == AccessKind::Close(AccessMode::Write) && names(event, name);
    }
    names(event, name)
}

fn names(event: &notify::Event, name: Option<&std::ffi::OsStr>) -> bool {
    event.paths.is_empty()
        || event.need_rescan()
        || event.paths.iter().any(|p| match p.file_name() {
            Some(f) => Some(f) == name || f.as_encoded_bytes().starts_with(b".."),
            None => true,
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// Something in the directory changed.
    Changed,
    /// SIGHUP: reload even if the file looks the same.
    Hangup,
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, EventKind, Flag, ModifyKind, RenameMode};
    use std::ffi::OsStr;

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        let mut e = notify::Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        e
    }

    fn config() -> Option<&'static OsStr> {
        Some(OsStr::new("selfbrake.toml"))
    }

    #[test]
    fn an_editor_replacing_the_config_is_seen() {
        let rename = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        let e = event(
            rename,
            &["/etc/sb/.selfbrake.toml.tmp", "/etc/sb/selfbrake.toml"],
        );
        assert!(concerns(&e, config()));
    }

    #[test]
    fn a_configmap_swap_is_seen() {
        let e = event(EventKind::Create(CreateKind::Any), &["/etc/sb/..data"]);
        assert!(concerns(&e, config()));
    }

    #[test]
    fn a_log_beside_the_config_is_ignored() {
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        assert!(!concerns(
            &event(write, &["/etc/sb/selfbrake.log"]),
            config()
        ));
        assert!(!concerns(&event(write, &["/etc/sb/other.toml"]), config()));
    }

    #[test]
    fn reading_the_config_is_no_change() {
        use notify::event::{AccessKind, AccessMode};
        for kind in [
            AccessKind::Open(AccessMode::Any),
            AccessKind::Read,
            AccessKind::Close(AccessMode::Read),
        ] {
            let e = event(EventKind::Access(kind), &["/etc/sb/selfbrake.toml"]);
            assert!(!concerns(&e, config()), "{kind:?}");
        }
        let written = AccessKind::Close(AccessMode::Write);
        let e = event(EventKind::Access(written), &["/etc/sb/selfbrake.toml"]);
        assert!(concerns(&e, config()));
    }

    #[test]
    fn lost_events_force_a_look() {
        assert!(concerns(&event(EventKind::Any, &[]), config()));
        let rescan = event(EventKind::Other, &["/etc/sb/x"]).set_flag(Flag::Rescan);
        assert!(concerns(&rescan, config()));
    }
}
