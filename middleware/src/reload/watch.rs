//! The config file's directory, watched with inotify.
//!
//! The whole directory is watched, because config managers do not write
//! the file in place: editors replace it (a rename onto its name), and a
//! Kubernetes ConfigMap volume swaps a `..data` symlink, an event that names
//! no file of ours. The kernel is asked only for what can change a file's
//! content for good: a close after writing, a creation, a deletion, a
//! rename in or out. Not for every write, open or read: those come once per
//! `write(2)` to any file there, so a log beside the config woke the
//! watcher for every line it took (a general-purpose watcher asks for all
//! of them, and filtering afterwards still pays the wake-up).
//!
//! ```text
//! mv config.toml.tmp config.toml      -> MOVED_TO  config.toml   (reload)
//! kubelet: ..data_tmp -> ..data       -> MOVED_TO  ..data        (reload)
//! echo ... > config.toml              -> CLOSE_WRITE config.toml (reload)
//! echo line >> selfbrake.log          -> nothing delivered
//! ```

use std::ffi::OsStr;
use std::path::Path;

use tokio::sync::mpsc::UnboundedSender;

use super::Trigger;

/// Starts watching `config`'s directory; every event that may have changed
/// the file sends [`Trigger::Changed`]. The watch lives as long as the
/// receiving end of `changed`.
#[cfg(target_os = "linux")]
pub(super) fn spawn(config: &Path, changed: UnboundedSender<Trigger>) -> std::io::Result<()> {
    use futures::StreamExt;
    use inotify::{Inotify, WatchMask};

    let dir = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = config.file_name().map(OsStr::to_os_string);
    let inotify = Inotify::init()?;
    inotify.watches().add(
        dir,
        WatchMask::CLOSE_WRITE
            | WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF,
    )?;
    let mut events = inotify.into_event_stream(vec![0u8; 4096])?;
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(%error, "config watch failed; SIGHUP still reloads");
                    return;
                }
            };
            if event.mask.contains(inotify::EventMask::IGNORED) {
                tracing::warn!(
                    "config directory removed or moved: no longer watched; SIGHUP still reloads"
                );
                return;
            }
            if concerns(event.mask, event.name.as_deref(), name.as_deref())
                && changed.send(Trigger::Changed).is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

/// Elsewhere there is no inotify: SIGHUP reloads.
#[cfg(not(target_os = "linux"))]
pub(super) fn spawn(_config: &Path, _changed: UnboundedSender<Trigger>) -> std::io::Result<()> {
    tracing::info!("the config file is not watched on this OS; send SIGHUP to reload");
    Ok(())
}

/// Whether an event may have changed the config named `config`: it names
/// the file, or a `..`-prefixed entry (a ConfigMap's `..data` swap), or the
/// kernel dropped events (queue overflow) and only a look can tell.
#[cfg(target_os = "linux")]
fn concerns(mask: inotify::EventMask, entry: Option<&OsStr>, config: Option<&OsStr>) -> bool {
    if mask.contains(inotify::EventMask::Q_OVERFLOW) {
        return true;
    }
    match entry {
        // An event about the directory itself (it went away).
        None => true,
        Some(entry) => Some(entry) == config || entry.as_encoded_bytes().starts_with(b".."),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use inotify::EventMask;

    fn config() -> Option<&'static OsStr> {
        Some(OsStr::new("selfbrake.toml"))
    }

    #[test]
    fn the_config_replaced_or_written_in_place_is_seen() {
        for mask in [
            EventMask::MOVED_TO,
            EventMask::CLOSE_WRITE,
            EventMask::CREATE,
        ] {
            assert!(concerns(mask, config(), config()), "{mask:?}");
        }
    }

    #[test]
    fn a_configmap_swap_is_seen() {
        let entry = Some(OsStr::new("..data"));
        assert!(concerns(EventMask::MOVED_TO, entry, config()));
        assert!(concerns(EventMask::CREATE, entry, config()));
    }

    #[test]
    fn another_file_in_the_directory_is_not_the_config() {
        let log = Some(OsStr::new("selfbrake.log"));
        assert!(!concerns(EventMask::CLOSE_WRITE, log, config()));
        let other = Some(OsStr::new("other.toml"));
        assert!(!concerns(EventMask::MOVED_TO, other, config()));
    }

    #[test]
    fn lost_events_force_a_look() {
        assert!(concerns(EventMask::Q_OVERFLOW, None, config()));
    }
}
