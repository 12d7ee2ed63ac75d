//! Idle upstream connections, kept as bare sockets.
//!
//! A connection is pooled only after its response was read to the end, so
//! the socket holds no bytes of an old exchange; the next request runs a new
//! HTTP/1 handshake over it (no I/O for HTTP/1). Connections idle longer
//! than the idle limit are closed: they must go before the servers' own
//! keep-alive does (uvicorn and llama-server: 5 s), so a request never goes
//! out on a socket the server is closing.
//!
//! A socket is handed only to a request on the runtime it was opened on:
//! its readiness comes from that runtime's reactor, so on another serving
//! thread every token of the stream would cross threads to reach it.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::runtime::{Handle, Id};
use tokio::time::Instant;

/// Idle sockets of one upstream address, oldest first.
pub(super) struct Pool {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    keep: Duration,
    /// Whether the task that closes expired sockets runs.
    reaping: std::sync::atomic::AtomicBool,
}

struct Idle {
    stream: TcpStream,
    since: Instant,
    runtime: Option<Id>,
}

impl Pool {
    pub(super) fn new(keep: Duration, max_idle: usize) -> Arc<Self> {
        Arc::new(Pool {
            idle: Mutex::new(Vec::new()),
            max_idle,
            keep,
            reaping: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The most recently used socket of this runtime that is still open, if any.
    pub(super) fn take(&self) -> Option<TcpStream> {
        let now = Instant::now();
        let here = runtime();
        let mut idle = self.lock();
        expire(&mut idle, now, self.keep);
        while let Some(at) = idle.iter().rposition(|i| i.runtime == here) {
            let Idle { stream, .. } = idle.remove(at);
            if is_open(&stream) {
                return Some(stream);
            }
        }
        None
    }

    /// Keeps a socket whose exchange is complete. Beyond `max_idle` the
    /// oldest are closed: the pool never grows past it.
    pub(super) fn put(self: &Arc<Self>, stream: TcpStream) {
        let now = Instant::now();
        {
            let mut idle = self.lock();
            expire(&mut idle, now, self.keep);
            if idle.len() >= self.max_idle {
                idle.remove(0);
            }
            idle.push(Idle {
                stream,
                since: now,
                runtime: runtime(),
            });
        }
        self.start_reaper();
    }

    /// Sockets idle right now (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Without a reaper an idle socket would stay open (in CLOSE_WAIT once
    /// the server gives up on it) until the next request came by.
    fn start_reaper(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.reaping.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = Handle::try_current() else {
            self.reaping.store(false, Ordering::Release);
            return;
        };
        let pool: Weak<Pool> = Arc::downgrade(self);
        let every = self.keep;
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(pool) = pool.upgrade() else { return };
                let mut idle = pool.lock();
                expire(&mut idle, Instant::now(), pool.keep);
                if idle.is_empty() {
                    // Started again by the next `put`.
                    pool.reaping.store(false, Ordering::Release);
                    return;
                }
            }
        });
    }
}

fn runtime() -> Option<Id> {
    Handle::try_current().ok().map(|h| h.id())
}

/// Drops the sockets idle for `keep` or longer (they are at the front).
fn expire(idle: &mut Vec<Idle>, now: Instant, keep: Duration) {
    let old = idle
        .iter()
        .take_while(|i| now.duration_since(i.since) >= keep)
        .count();
    idle.drain(..old);
}

/// An idle socket with something to read has been closed by the server
/// (end of file) or holds bytes no request asked for: either way, unusable.
fn is_open(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    #[tokio::test]
    async fn a_socket_the_server_closed_is_not_handed_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let pool = Pool::new(Duration::from_secs(4), 8);
        let (open, _server_a) = pair(&listener).await;
        let (closed, server_b) = pair(&listener).await;
        pool.put(open);
        pool.put(closed);
        drop(server_b);
        // The reactor learns of the FIN asynchronously.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let first = pool.take().expect("the open socket");
        assert!(is_open(&first));
        assert!(pool.take().is_none());
    }

    #[tokio::test]
    async fn expired_sockets_are_closed_and_the_pool_is_capped() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let pool = Pool::new(Duration::from_millis(100), 2);
        let mut servers = Vec::new();
        for _ in 0..3 {
            let (client, server) = pair(&listener).await;
            servers.push(server);
            pool.put(client);
        }
        assert_eq!(pool.len(), 2, "capped at max_idle");
        // The reaper closes them even with no request coming by.
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(pool.len(), 0);
        assert!(pool.take().is_none());
    }

    #[test]
    fn a_socket_goes_only_to_the_runtime_that_opened_it() {
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let (a, b) = (runtime(), runtime());
        let pool = Pool::new(Duration::from_secs(4), 8);
        let (listener, _server) = a.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (client, server) = pair(&listener).await;
            pool.put(client);
            (listener, server)
        });
        assert!(
            b.block_on(async { pool.take() }).is_none(),
            "another runtime's socket"
        );
        assert!(
            a.block_on(async { pool.take() }).is_some(),
            "its own runtime's socket"
        );
        drop(listener);
    }
}
