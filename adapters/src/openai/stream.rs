//! The response body → [`EventStream`], with idle and total time limits.
//!
//! The stream owns the HTTP response and reads it only when polled: no task
//! is spawned, so dropping the stream drops the response, the connection
//! closes, and the engine aborts the request. After an error item, or after
//! `data: [DONE]`, the response is dropped at once and the stream ends.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::time::Instant;

use super::normalise::Normaliser;
use super::sse::SseDecoder;
use crate::{AdapterError, BackendEvent, EventStream};

type Item = Result<BackendEvent, AdapterError>;

pub struct Limits {
    pub idle: Duration,
    pub deadline: Instant,
    pub max_stream: Duration,
    pub max_line: usize,
}

/// A body read failure, as the adapter reports it.
pub trait ReadError {
    fn into_adapter(self) -> AdapterError;
}

impl ReadError for reqwest::Error {
    fn into_adapter(self) -> AdapterError {
        let text = super::http::error_text(&self);
        if self.is_timeout() {
            AdapterError::Timeout(text)
        } else {
            AdapterError::Closed(text)
        }
    }
}

/// The events of one SSE response body. A hand-written stream, not an
/// `unfold` over an `async` step: that moved the whole state in and out of
/// a new future for every event and raced the body against the timer in a
/// `select!` on every read, costs paid once per token at a GPU's pace.
struct Events<B> {
    body: Option<B>,
    /// Fires at the idle or total deadline. It is re-armed only when it
    /// fires, not per chunk: a chunk just records `last_data`.
    timer: Pin<Box<tokio::time::Sleep>>,
    /// The waker the timer holds, once polled: it is polled again only for
    /// another waker or after a re-arm, not after every read.
    armed: Option<Waker>,
    last_data: Instant,
    decoder: SseDecoder,
    norm: Normaliser,
    pending: VecDeque<Item>,
    /// The normaliser's output for one event, reused.
    scratch: Vec<BackendEvent>,
    limits: Limits,
    /// Lets an inline connection go back to the pool once `[DONE]` is read.
    release: Option<super::inline::Release>,
}

/// Wraps a 2xx streaming response read through the pooled reqwest client.
pub fn events(resp: reqwest::Response, limits: Limits, norm: Normaliser) -> EventStream {
    chunks(Box::pin(resp.bytes_stream()), None, limits, norm)
}

/// Wraps a 2xx streaming body; `release` is set once `[DONE]` is read.
pub fn chunks<B, E>(
    body: B,
    release: Option<super::inline::Release>,
    limits: Limits,
    norm: Normaliser,
) -> EventStream
where
    B: Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: ReadError,
{
    let now = Instant::now();
    Box::pin(Events {
        body: Some(body),
        timer: Box::pin(tokio::time::sleep_until(
            (now + limits.idle).min(limits.deadline),
        )),
        armed: None,
        last_data: now,
        decoder: SseDecoder::new(limits.max_line),
        norm,
        pending: VecDeque::new(),
        scratch: Vec::new(),
        limits,
        release,
    })
}

impl<B, E> Stream for Events<B>
where
    B: Stream<Item = Result<Bytes, E>> + Unpin,
    E: ReadError,
{
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            let Some(body) = this.body.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(body).poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    this.last_data = Instant::now();
                    this.bytes(&bytes);
                    continue;
                }
                Poll::Ready(Some(Err(e))) => {
                    this.fail(e.into_adapter());
                    continue;
                }
                Poll::Ready(None) => {
                    this.fail(AdapterError::Closed(
                        "body ended without `data: [DONE]`".into(),
                    ));
                    continue;
                }
                Poll::Pending => {}
            }
            let same_waker = this.armed.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
            if same_waker && !this.timer.is_elapsed() {
                return Poll::Pending;
            }
            if this.timer.as_mut().poll(cx).is_pending() {
                this.armed = Some(cx.waker().clone());
                return Poll::Pending;
            }
            this.armed = None;
            let now = Instant::now();
            if now >= this.limits.deadline {
                let e = this.max_stream_error();
                this.fail(e);
                continue;
            }
            let idle_at = this.last_data + this.limits.idle;
            if now >= idle_at {
                let idle = this.limits.idle;
                this.fail(AdapterError::Timeout(format!(
                    "no data from upstream for {idle:?}"
                )));
                continue;
            }
            this.timer.as_mut().reset(idle_at.min(this.limits.deadline));
        }
    }
}

impl<B> Events<B> {
    fn bytes(&mut self, bytes: &[u8]) {
        let Events {
            decoder,
            norm,
            pending,
            scratch,
            ..
        } = self;
        let mut over: Option<Result<(), AdapterError>> = None;
        let fed = decoder.feed_with(bytes, &mut |ev| {
            if ev.data == "[DONE]" {
                pending.extend(norm.finish().into_iter().map(Ok));
                over = Some(Ok(()));
                return false;
            }
            if ev.event == Some("error") {
                let e = AdapterError::Protocol(format!("upstream error event: {}", ev.data));
                over = Some(Err(e));
                return false;
            }
            match norm.data_into(ev.data, scratch) {
                Ok(()) => {
                    pending.extend(scratch.drain(..).map(Ok));
                    true
                }
                Err(e) => {
                    over = Some(Err(e));
                    false
                }
            }
        });
        match (fed, over) {
            (Err(e), _) => self.fail(AdapterError::Protocol(e.to_string())),
            (Ok(()), Some(Err(e))) => self.fail(e),
            (Ok(()), Some(Ok(()))) => {
                if let Some(release) = &self.release {
                    release.release();
                }
                self.body = None;
            }
            (Ok(()), None) => {}
        }
    }

    fn max_stream_error(&self) -> AdapterError {
        AdapterError::Timeout(format!("stream longer than {:?}", self.limits.max_stream))
    }

    fn fail(&mut self, e: AdapterError) {
        tracing::debug!(error = %e, "upstream stream failed");
        self.body = None;
        self.pending.push_back(Err(e));
    }
}
