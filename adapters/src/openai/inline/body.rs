//! A response body that drives its own HTTP/1 connection.
//!
//! A pooled HTTP client runs each connection in a task of its own and hands
//! the body over through a one-chunk channel: every chunk costs a wake-up
//! of the reader, and the reader never finds more than one chunk ready, so
//! a burst of 200 events in one socket read went to the client as 200
//! writes. Here the connection is polled by whoever polls the body, in the
//! same task: when the reader asks for more, the connection decodes the
//! next chunk from the bytes it already read, so every event of one read
//! is ready at once and the proxy can answer them with one write.
//!
//! Dropping the body closes the connection (that is how a client's
//! disconnect cancels the generation), unless the response was read to its
//! end, or the reader marked it [`Release`]d: then the socket goes back to
//! the pool.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use http_body_util::Full;
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::pool::Pool;
use super::wake::OwnWakes;

pub(super) type Conn = Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// How long a released body may take to send the rest of its response,
/// and how many bytes that rest may hold, before its socket is closed
/// instead of pooled (after `[DONE]` a server sends only the body's end).
const FINISH_WITHIN: Duration = Duration::from_secs(1);
const FINISH_MAX_BYTES: usize = 64 * 1024;

/// Set by the reader when it has everything it wants (`data: [DONE]`): the
/// rest of the response is then read in the background and the socket
/// pooled, instead of the connection being closed.
#[derive(Clone, Debug, Default)]
pub struct Release(Arc<AtomicBool>);

impl Release {
    pub fn release(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_released(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The connection, its request handle (dropping it would make the
/// connection close after this response) and the response body.
pub(super) struct Exchange {
    pub sender: SendRequest<Full<Bytes>>,
    pub conn: Conn,
    pub body: Incoming,
}

pub(super) struct DrivenBody {
    reading: Reading,
    release: Release,
    pool: Arc<Pool>,
    wakes: OwnWakes,
    /// The end of the body (or its error), met while joining chunks.
    held: Option<Option<Item>>,
}

struct Reading {
    /// `None` once dropped or handed to the pool.
    exchange: Option<Exchange>,
    /// The connection finished (closed or failed): only the body is left.
    conn_done: bool,
    conn_error: Option<hyper::Error>,
    ended: bool,
    /// The last joined item's size: the next starts with that much room.
    join_hint: usize,
}

impl DrivenBody {
    pub(super) fn new(exchange: Exchange, release: Release, pool: Arc<Pool>) -> Self {
        DrivenBody {
            reading: Reading {
                exchange: Some(exchange),
                conn_done: false,
                conn_error: None,
                ended: false,
                join_hint: 0,
            },
            release,
            pool,
            wakes: OwnWakes::new(),
            held: None,
        }
    }
}

/// Polls in a row after which a body that keeps waking itself yields to
/// the runtime like any other future.
const MAX_SPINS: usize = 8;

/// Most bytes joined into one item.
const MAX_JOIN: usize = 64 * 1024;

type Item = Result<Bytes, hyper::Error>;

impl Stream for DrivenBody {
    type Item = Item;

    /// Every chunk the connection has already read comes out as one item:
    /// the reader decodes a socket read at once, not an HTTP chunk (one
    /// event, from vLLM) at a time.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = &mut *self;
        if let Some(held) = this.held.take() {
            return Poll::Ready(held);
        }
        for _ in 0..MAX_SPINS {
            let own = this.wakes.start(cx.waker());
            let mut own = Context::from_waker(own);
            let polled = match this.reading.poll_once(&mut own) {
                Poll::Ready(Some(Ok(first))) => {
                    Poll::Ready(Some(Ok(this.reading.join(first, &mut this.held, &mut own))))
                }
                other => other,
            };
            let woken = this.wakes.finish();
            // Ready: the caller polls again when it wants more, no wake-up needed.
            if polled.is_ready() || !woken {
                return polled;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Reading {
    /// `first` and the chunks ready after it; an end or error met on the
    /// way goes to `held`, for the next poll.
    fn join(
        &mut self,
        first: Bytes,
        held: &mut Option<Option<Item>>,
        cx: &mut Context<'_>,
    ) -> Bytes {
        let mut joined: Option<BytesMut> = None;
        while joined.as_ref().map_or(first.len(), BytesMut::len) < MAX_JOIN {
            match self.poll_once(cx) {
                Poll::Ready(Some(Ok(more))) => joined
                    .get_or_insert_with(|| {
                        let mut all = BytesMut::with_capacity(self.join_hint.max(2 * first.len()));
                        all.extend_from_slice(&first);
                        all
                    })
                    .extend_from_slice(&more),
                Poll::Ready(end) => {
                    *held = Some(end);
                    break;
                }
                Poll::Pending => break,
            }
        }
        match joined {
            Some(all) => {
                self.join_hint = all.len().min(MAX_JOIN);
                all.freeze()
            }
            None => first,
        }
    }
}

impl Reading {
    fn poll_once(&mut self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let Some(ex) = self.exchange.as_mut() else {
            return Poll::Ready(None);
        };
        loop {
            if let Poll::Ready(item) = poll_data(&mut ex.body, cx) {
                if item.is_none() {
                    self.ended = true;
                    if let Some(e) = self.conn_error.take() {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                return Poll::Ready(item);
            }
            if self.conn_done {
                // The connection is gone: the body's sender with it, so the
                // body ends or fails on the next poll (it woke us).
                return Poll::Pending;
            }
            match ex.conn.poll_without_shutdown(cx) {
                // It may just have handed a chunk over: one more look.
                Poll::Pending => {
                    let item = std::task::ready!(poll_data(&mut ex.body, cx));
                    self.ended = item.is_none();
                    return Poll::Ready(item);
                }
                Poll::Ready(done) => {
                    self.conn_done = true;
                    self.conn_error = done.err();
                }
            }
        }
    }
}

/// The next data frame (trailers are skipped: SSE has none).
fn poll_data(
    body: &mut Incoming,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Bytes, hyper::Error>>> {
    loop {
        return match std::task::ready!(Pin::new(&mut *body).poll_frame(cx)) {
            None => Poll::Ready(None),
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => Poll::Ready(Some(Ok(data))),
                Err(_) => continue,
            },
        };
    }
}

impl Drop for DrivenBody {
    fn drop(&mut self) {
        let Some(mut ex) = self.reading.exchange.take() else {
            return;
        };
        if self.reading.conn_done {
            return;
        }
        if self.reading.ended {
            return pool_if_idle(ex, &self.pool);
        }
        if !self.release.is_released() {
            // A reader that stopped early (the client went away, a brake):
            // closing the socket is what stops the generation.
            return;
        }
        // Usually the end of the response came in the same read as `[DONE]`.
        let waker = futures::task::noop_waker_ref();
        let mut left = FINISH_MAX_BYTES;
        match finish(&mut ex, &mut left, &mut Context::from_waker(waker)) {
            Poll::Ready(true) => pool_if_idle(ex, &self.pool),
            Poll::Ready(false) => {}
            Poll::Pending => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let pool = self.pool.clone();
                runtime.spawn(async move {
                    let done = futures::future::poll_fn(|cx| finish(&mut ex, &mut left, cx));
                    if let Ok(true) = tokio::time::timeout(FINISH_WITHIN, done).await {
                        pool_if_idle(ex, &pool);
                    }
                });
            }
        }
    }
}

/// Reads the rest of the response, at most `left` more bytes.
/// `Ready(true)`: it ended cleanly.
fn finish(ex: &mut Exchange, left: &mut usize, cx: &mut Context<'_>) -> Poll<bool> {
    let mut looked_again = false;
    loop {
        match poll_data(&mut ex.body, cx) {
            Poll::Ready(None) => return Poll::Ready(true),
            Poll::Ready(Some(Ok(data))) if data.len() <= *left => {
                *left -= data.len();
                looked_again = false;
                continue;
            }
            Poll::Ready(Some(_)) => return Poll::Ready(false),
            Poll::Pending if looked_again => return Poll::Pending,
            Poll::Pending => {}
        }
        if ex.conn.poll_without_shutdown(cx).is_ready() {
            return Poll::Ready(false);
        }
        // The connection may just have handed a chunk over: one more look.
        looked_again = true;
    }
}

/// Pools the socket of a finished exchange if the connection is idle and
/// kept alive (not closing, nothing unread in its buffer).
fn pool_if_idle(mut ex: Exchange, pool: &Arc<Pool>) {
    if ex.sender.is_closed() {
        return;
    }
    let waker = futures::task::noop_waker_ref();
    let closing = ex
        .conn
        .poll_without_shutdown(&mut Context::from_waker(waker))
        .is_ready();
    if !closing {
        let parts = ex.conn.into_parts();
        if parts.read_buf.is_empty() {
            pool.put(parts.io.into_inner());
        }
    }
}
