//! A concurrency slot held in Redis: renewed in the background while held,
//! released when dropped. If the process dies, renewals stop and the slot
//! lapses after the lease's ttl, so a crashed replica's slots come back.
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{AsyncCommands, Script};
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

/// Dropping it releases the slot (from a background task: `Drop` cannot
/// wait for Redis).
#[derive(Debug)]
pub(crate) struct Lease {
    release: Option<oneshot::Sender<()>>,
}

impl Lease {
    /// Spawns the task that renews the lease every third of `ttl` and
    /// removes it once the returned guard is dropped.
    pub(crate) fn hold(
        connection: ConnectionManager,
        renew: Script,
        key: String,
        id: String,
        ttl: Duration,
        timeout: Duration,
    ) -> Lease {
        let (release, released) = oneshot::channel();
        tokio::spawn(keep(connection, renew, key, id, ttl, timeout, released));
        Lease {
            release: Some(release),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            // The task may be gone with its runtime; the lease then lapses.
            let _ = release.send(());
        }
    }
}

async fn keep(
    mut connection: ConnectionManager,
    renew: Script,
    key: String,
    id: String,
    ttl: Duration,
    timeout: Duration,
    mut released: oneshot::Receiver<()>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + ttl / 3, ttl / 3);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut held = true;
    loop {
        tokio::select! {
            // Sent, or the guard dropped without sending: either way, done.
            _ = &mut released => break,
            _ = ticks.tick(), if held => {
                let mut invocation = renew.key(&key);
                invocation.arg(&id).arg(ttl.as_millis() as u64);
                let call = invocation.invoke_async::<i64>(&mut connection);
                match tokio::time::timeout(timeout, call).await {
                    Ok(Ok(1)) => {}
                    Ok(Ok(_)) => {
                        // Not renewed for a whole ttl: another request may
                        // hold the slot now. The request goes on; it is
                        // simply no longer counted.
                        tracing::warn!(%key, "concurrency lease lapsed before its request ended");
                        held = false;
                    }
                    Ok(Err(error)) => tracing::warn!(%error, %key, "renewing a concurrency lease"),
                    Err(_) => tracing::warn!(%key, "renewing a concurrency lease timed out"),
                }
            }
        }
    }
    let release = connection.zrem::<_, _, i64>(&key, &id);
    match tokio::time::timeout(timeout, release).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, %key, "releasing a concurrency lease; it lapses by itself")
        }
        Err(_) => {
            tracing::warn!(%key, "releasing a concurrency lease timed out; it lapses by itself")
        }
    }
}
