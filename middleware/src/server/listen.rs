//! Accepting client connections: hyper with a timer (so a client that
//! trickles its request head is dropped after `header_read_timeout_ms`),
//! TCP_NODELAY, a [`ConnectionWatch`] per connection raced against it (the
//! client-stall and total deadlines), and graceful shutdown.
use std::future::Future;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::watch::{ConnectionWatch, Expired};
use crate::config::ServerConfig;

/// What the connection loop enforces, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    pub header_read_timeout: Duration,
    pub client_stall: Duration,
    pub grace: Duration,
}

impl From<&ServerConfig> for ClientLimits {
    fn from(server: &ServerConfig) -> Self {
        ClientLimits {
            header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
            client_stall: Duration::from_millis(server.client_stall_ms),
            grace: Duration::from_millis(server.shutdown_grace_ms),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting and gives the connections in flight `limits.grace` to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ClientLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    // Flattened writes: hyper copies each chunk's size line, data and CRLF
    // into one buffer for one `write`, instead of queueing three buffers
    // for a `writev`. At a GPU's pace (one event per write) that is about
    // 1 % less CPU per token; at full speed, with 64 KiB batches to copy,
    // about 2 % more (docs/benchmarks.md, "Fourth pass").
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .writev(false);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Each SSE write must leave at once: without TCP_NODELAY, Nagle holds
        // a small write until the client ACKs the previous one (up to its
        // 40 ms delayed ACK).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on a client connection");
        }
        let watch = ConnectionWatch::new(limits.client_stall);
        let per_request = watch.clone();
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(per_request.clone());
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        // The watchdog runs beside the connection, not raced in its task:
        // there it was polled again on every wake-up of the connection, one
        // timer poll per streamed token.
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "client connection ended with an error");
            }
        });
        let abort = connection.abort_handle();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                why = watch.expired() => {
                    abort.abort();
                    match why {
                        Expired::Stalled => tracing::info!(%peer, "client took no bytes for client_stall_ms; connection dropped, upstream cancelled"),
                        Expired::Deadline => tracing::info!(%peer, "request passed max_request_ms; connection dropped, upstream cancelled"),
                    }
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.grace) => {
            tracing::warn!(grace_ms = limits.grace.as_millis() as u64, "grace period over; closing the remaining streams");
        }
    }
    Ok(())
}
