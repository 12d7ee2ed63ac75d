//! The response body → [`EventStream`], with idle and total time limits.
//!
//! The stream owns the HTTP response and reads it only when polled: no task
//! is spawned, so dropping the stream drops the response, the connection
//! closes, and the engine aborts the request. After an error item, or after
//! `data: [DONE]`, the response is dropped at once and the stream ends.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use super::normalise::Normaliser;
use super::sse::SseDecoder;
use crate::{AdapterError, BackendEvent, EventStream};

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type Item = Result<BackendEvent, AdapterError>;

pub struct Limits {
    pub idle: Duration,
    pub deadline: Instant,
    pub max_stream: Duration,
    pub max_line: usize,
}

struct State {
    body: Option<Body>,
    /// Fires at the idle or total deadline. It is re-armed only when it
    /// fires, not per chunk: a chunk just records `last_data`.
    timer: Pin<Box<tokio::time::Sleep>>,
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

/// Wraps a 2xx streaming response.
pub fn events(resp: reqwest::Response, limits: Limits, norm: Normaliser) -> EventStream {
    let now = Instant::now();
    let release = resp.extensions().get::<super::inline::Release>().cloned();
    let state = State {
        body: Some(Box::pin(resp.bytes_stream())),
        timer: Box::pin(tokio::time::sleep_until(
            (now + limits.idle).min(limits.deadline),
        )),
        last_data: now,
        decoder: SseDecoder::new(limits.max_line),
        norm,
        pending: VecDeque::new(),
        scratch: Vec::new(),
        limits,
        release,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                return Some((item, st));
            }
            st.body.as_ref()?;
            st.step().await;
        }
    }))
}

impl State {
    /// Reads one body chunk; queues what it yields. Drops the body when the
    /// stream is over.
    async fn step(&mut self) {
        enum Outcome {
            Next(Option<reqwest::Result<Bytes>>),
            Idle,
            TooLong,
        }
        let outcome = {
            let Some(body) = self.body.as_mut() else {
                return;
            };
            loop {
                tokio::select! {
                    biased;
                    next = body.next() => break Outcome::Next(next),
                    () = self.timer.as_mut() => {
                        let now = Instant::now();
                        if now >= self.limits.deadline {
                            break Outcome::TooLong;
                        }
                        let idle_at = self.last_data + self.limits.idle;
                        if now >= idle_at {
                            break Outcome::Idle;
                        }
                        self.timer.as_mut().reset(idle_at.min(self.limits.deadline));
                    }
                }
            }
        };
        let idle = self.limits.idle;
        match outcome {
            Outcome::TooLong => self.fail(self.max_stream_error()),
            Outcome::Idle => self.fail(AdapterError::Timeout(format!(
                "no data from upstream for {idle:?}"
            ))),
            Outcome::Next(None) => self.fail(AdapterError::Closed(
                "body ended without `data: [DONE]`".into(),
            )),
            Outcome::Next(Some(Err(e))) if e.is_timeout() => {
                self.fail(AdapterError::Timeout(super::http::error_text(&e)))
            }
            Outcome::Next(Some(Err(e))) => {
                self.fail(AdapterError::Closed(super::http::error_text(&e)))
            }
            Outcome::Next(Some(Ok(bytes))) => {
                self.last_data = Instant::now();
                self.bytes(&bytes)
            }
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let State {
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
