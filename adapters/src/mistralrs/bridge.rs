//! From the engine's response channel to an [`EventStream`].
//!
//! The engine sends each token with `send().await` on a channel of one slot,
//! inside its scheduling loop: a reader that does not take it stalls every
//! sequence. So one small task per request takes the engine's messages as
//! they come and forwards the decoded events into a bounded channel of
//! [`BUFFER`] events, which the session reads. The task ends, dropping the
//! engine's receiver (the engine then cancels the sequence at its next
//! token), as soon as
//! - the stream is dropped (brake, client gone): it waits on that too;
//! - the stream's reader leaves the buffer full for `stall` (a stalled
//!   client): the stream then ends with a `Timeout` error;
//! - the sequence finished.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::mistralrs::Response;
use futures::Stream;
use tokio::sync::mpsc;

use super::decode::Decoder;
use crate::{AdapterError, BackendEvent, EventStream};

/// Events buffered between the engine and the session.
pub(super) const BUFFER: usize = 64;

type Item = Result<BackendEvent, AdapterError>;

/// Starts the forwarding task; `first` are the events of the engine's first message.
pub(super) fn spawn(
    mut engine: mpsc::Receiver<Response>,
    mut decoder: Decoder,
    first: Vec<Item>,
    stall: Duration,
) -> EventStream {
    let (tx, rx) = mpsc::channel::<Item>(BUFFER);
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    tokio::spawn(async move {
        let mut pending = first;
        loop {
            for item in pending.drain(..) {
                // The buffer almost always has room: a stall timer only when
                // it is full.
                let item = match tx.try_send(item) {
                    Ok(()) => continue,
                    Err(mpsc::error::TrySendError::Closed(_)) => return, // the stream was dropped
                    Err(mpsc::error::TrySendError::Full(item)) => item,
                };
                match tokio::time::timeout(stall, tx.send(item)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return,
                    Err(_) => {
                        tracing::warn!(
                            stall_ms = stall.as_millis() as u64,
                            "embedded stream not read; cancelling it"
                        );
                        flag.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
            if decoder.done() {
                return;
            }
            let message = tokio::select! {
                biased;
                () = tx.closed() => return,
                m = engine.recv() => m,
            };
            // The decoder marks itself done on every error it reports.
            pending = match message {
                Some(m) => decoder.decode(m),
                None => {
                    decoder.finish();
                    vec![Err(AdapterError::Closed(
                        "the engine ended the sequence without finishing it".into(),
                    ))]
                }
            };
        }
    });
    Box::pin(Events { rx, stalled, stall })
}

struct Events {
    rx: mpsc::Receiver<Item>,
    stalled: Arc<AtomicBool>,
    stall: Duration,
}

impl Stream for Events {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) if self.stalled.swap(false, Ordering::Relaxed) => {
                Poll::Ready(Some(Err(AdapterError::Timeout(format!(
                    "the stream was not read for {:?}; the engine cancelled it",
                    self.stall
                )))))
            }
            other => other,
        }
    }
}
