//! Serving threads: each runs a single-threaded runtime of its own, accepts
//! from the same listening socket, and keeps what it accepted (the client
//! connection, its pooled upstream socket, their timers) on that thread
//! until it closes.
//!
//! Why: at a GPU's pace each token arrives on its own, and much of the CPU
//! per token is paid per wake-up. One thread that wakes for many streams at once
//! pays for fewer wake-ups than several that each wake for a few, so one
//! serving thread is the default; two of these threads cost what tokio's
//! work-stealing runtime with two workers did (docs/benchmarks.md, "Eighth
//! pass"). More threads are there for replicas whose requests, not tokens,
//! are the work: a stream never changes thread.
//!
//! ```no_run
//! # async fn run(app: axum::Router) -> std::io::Result<()> {
//! use selfbrake::config::ServerConfig;
//! use selfbrake::server::{ClientLimits, Shards};
//!
//! let limits = ClientLimits::from(&ServerConfig::default());
//! let listener = std::net::TcpListener::bind("127.0.0.1:8787")?;
//! let shards = Shards::start(listener, app, limits, 2)?;
//! shards.run_until(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
use std::future::Future;
use std::io;
use std::thread::JoinHandle;

use axum::Router;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{oneshot, watch};

use super::listen::{serve, ClientLimits};

/// The serving threads. Each ends once told to stop and its connections
/// have finished (or their grace ran out).
pub struct Shards {
    stop: watch::Sender<bool>,
    ended: Vec<oneshot::Receiver<io::Result<()>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Shards {
    /// Starts `count` serving threads on `listener` (at least one).
    pub fn start(
        listener: std::net::TcpListener,
        app: Router,
        limits: ClientLimits,
        count: usize,
    ) -> io::Result<Shards> {
        listener.set_nonblocking(true)?;
        let (stop, stopped) = watch::channel(false);
        let mut shards = Shards {
            stop,
            ended: Vec::new(),
            threads: Vec::new(),
        };
        for i in 0..count.max(1) {
            let listener = listener.try_clone()?;
            let (app, mut stopped) = (app.clone(), stopped.clone());
            let (done, ended) = oneshot::channel();
            let thread = std::thread::Builder::new()
                .name(format!("selfbrake-serve-{i}"))
                .spawn(move || {
                    let served = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .and_then(|runtime| {
                            runtime.block_on(async move {
                                let listener = tokio::net::TcpListener::from_std(listener)?;
                                let stop = async move {
                                    let _ = stopped.wait_for(|stop| *stop).await;
                                };
                                serve(listener, app, limits, stop).await
                            })
                        });
                    let _ = done.send(served);
                })?;
            shards.ended.push(ended);
            shards.threads.push(thread);
        }
        Ok(shards)
    }

    /// Serves until `shutdown` resolves, then stops every thread and waits
    /// for them. A thread that ends before that (it failed, or panicked)
    /// stops the others too, and its error is the result.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let mut ended: FuturesUnordered<_> = self
            .ended
            .into_iter()
            .map(|ended| async { ended.await.unwrap_or_else(|_| Err(panicked())) })
            .collect();
        let early = tokio::select! {
            () = shutdown => None,
            first = ended.next() => first.map(|served| {
                served.and_then(|()| Err(io::Error::other("a serving thread stopped unasked")))
            }),
        };
        self.stop.send_replace(true);
        let mut result = early.unwrap_or(Ok(()));
        while let Some(served) = ended.next().await {
            if let (Ok(()), Err(e)) = (&result, served) {
                result = Err(e);
            }
        }
        // Each has sent its result as its last act: these return at once.
        for thread in self.threads {
            let _ = thread.join();
        }
        result
    }
}

fn panicked() -> io::Error {
    io::Error::other("a serving thread panicked")
}

/// `server.worker_threads`, where 0 is one per CPU this process may use
/// (its affinity and cgroup quota counted).
pub fn thread_count(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}
