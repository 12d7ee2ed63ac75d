//! A response body read straight off its socket by whoever polls it.
//!
//! A pooled HTTP client runs each connection in a task of its own and hands
//! the body over through a one-chunk channel: every chunk costs a wake-up
//! of the reader, and a burst of 200 events in one socket read went to the
//! client as 200 writes. Driving hyper's connection inside the body fixed
//! the batching but still paid its dispatcher, its body channel and their
//! wake-ups once per token. Here the body owns the socket: a poll is one
//! read into the body's buffer and one pass of the chunk decoder
//! (`framing`), and everything the read held comes out as one item.
//!
//! Dropping the body closes the connection (that is how a client's
//! disconnect cancels the generation), unless the response was read to its
//! end, or the reader marked it [`Release`]d: then the socket goes back to
//! the pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::framing::{Decoder, Framing, Taken};
use super::pool::Pool;

/// How long a released body may take to send the rest of its response,
/// and how many bytes that rest may hold, before its socket is closed
/// instead of pooled (after `[DONE]` a server sends only the body's end).
const FINISH_WITHIN: Duration = Duration::from_secs(1);
const FINISH_MAX_BYTES: usize = 64 * 1024;

/// Room made in the buffer before a read.
const READ_SIZE: usize = 8 * 1024;

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

pub(super) struct DrivenBody {
    /// `None` once closed or handed to the pool.
    stream: Option<TcpStream>,
    buf: BytesMut,
    decoder: Decoder,
    keep_alive: bool,
    release: Release,
    pool: Arc<Pool>,
    failed: bool,
}

type Item = Result<Bytes, std::io::Error>;

impl DrivenBody {
    /// `buf` holds what was read after the response head.
    pub(super) fn new(
        stream: TcpStream,
        buf: BytesMut,
        framing: Framing,
        keep_alive: bool,
        release: Release,
        pool: Arc<Pool>,
    ) -> Self {
        DrivenBody {
            stream: Some(stream),
            buf,
            decoder: Decoder::new(framing),
            keep_alive,
            release,
            pool,
            failed: false,
        }
    }

    fn fail(&mut self, e: std::io::Error) -> Poll<Option<Item>> {
        self.failed = true;
        self.stream = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for DrivenBody {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = &mut *self;
        loop {
            if this.failed {
                return Poll::Ready(None);
            }
            let mut taken = Taken::default();
            if let Err(e) = this.decoder.decode(&mut this.buf, &mut taken) {
                return this.fail(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
            }
            if let Some(data) = taken.into_bytes() {
                return Poll::Ready(Some(Ok(data)));
            }
            if this.decoder.is_done() {
                if let Some(stream) = this.stream.take() {
                    pool_if_idle(stream, &this.buf, this.keep_alive, &this.pool);
                }
                return Poll::Ready(None);
            }
            let Some(stream) = this.stream.as_mut() else {
                return Poll::Ready(None);
            };
            if this.buf.capacity() - this.buf.len() < READ_SIZE / 4 {
                this.buf.reserve(READ_SIZE);
            }
            let read = std::pin::pin!(stream.read_buf(&mut this.buf)).poll(cx);
            match read {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) if this.decoder.framing() == Framing::Close => {
                    this.stream = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => {
                    return this.fail(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "connection closed in the middle of the response body",
                    ))
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return this.fail(e),
            }
        }
    }
}

impl Drop for DrivenBody {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        if !self.keep_alive || !self.release.is_released() {
            // A reader that stopped early (the client went away, a brake):
            // closing the socket is what stops the generation.
            return;
        }
        let mut rest = Rest {
            stream,
            buf: std::mem::take(&mut self.buf),
            decoder: std::mem::replace(&mut self.decoder, Decoder::new(Framing::Length(0))),
            left: FINISH_MAX_BYTES,
        };
        // Usually the end of the response came in the same read as `[DONE]`.
        let waker = futures::task::noop_waker_ref();
        match rest.finish(&mut Context::from_waker(waker)) {
            Poll::Ready(true) => pool_if_idle(rest.stream, &rest.buf, true, &self.pool),
            Poll::Ready(false) => {}
            Poll::Pending => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let pool = self.pool.clone();
                runtime.spawn(async move {
                    let done = futures::future::poll_fn(|cx| rest.finish(cx));
                    if let Ok(true) = tokio::time::timeout(FINISH_WITHIN, done).await {
                        pool_if_idle(rest.stream, &rest.buf, true, &pool);
                    }
                });
            }
        }
    }
}

/// The unread end of a released response.
struct Rest {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
    left: usize,
}

impl Rest {
    /// Reads the rest of the response, at most `left` more bytes.
    /// `Ready(true)`: it ended cleanly.
    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            let mut taken = Taken::default();
            if self.decoder.decode(&mut self.buf, &mut taken).is_err() {
                return Poll::Ready(false);
            }
            let len = taken.into_bytes().map_or(0, |b| b.len());
            if len > self.left {
                return Poll::Ready(false);
            }
            self.left -= len;
            if self.decoder.is_done() {
                return Poll::Ready(true);
            }
            self.buf.reserve(READ_SIZE);
            match std::pin::pin!(self.stream.read_buf(&mut self.buf)).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(false),
                Poll::Ready(Ok(_)) => {}
            }
        }
    }
}

/// Pools the socket of a finished exchange if it may carry another one
/// and holds no byte beyond this response.
fn pool_if_idle(stream: TcpStream, rest: &BytesMut, keep_alive: bool, pool: &Arc<Pool>) {
    if keep_alive && rest.is_empty() {
        pool.put(stream);
    }
}
