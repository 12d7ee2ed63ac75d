//! The streamed response body of the mock, and the record of its life.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::mock::Shared;
use crate::wire::Step;

/// One streamed response body, from its first poll to its drop.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    /// `RecordedRequest::index` of the request it answers.
    pub request_index: usize,
    pub started: Instant,
    /// When the body stream was dropped: the client closed the connection,
    /// or the body ended (then `completed`).
    pub closed_at: Option<Instant>,
    /// Writes handed to the server so far (data chunks, garbage, `[DONE]`).
    pub chunks_sent: usize,
    /// Of those, chunks carrying a generated token.
    pub tokens_sent: usize,
    /// `data: [DONE]` was sent.
    pub completed: bool,
}

/// Records the drop of the body stream.
struct Guard {
    sh: Arc<Shared>,
    slot: usize,
}

impl Guard {
    fn update(&self, f: impl FnOnce(&mut StreamRecord)) {
        f(&mut self.sh.streams.lock().unwrap()[self.slot]);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let now = Instant::now();
        self.update(|r| {
            r.closed_at.get_or_insert(now);
        });
        tracing::debug!(slot = self.slot, "mock stream closed");
    }
}

pub(crate) fn body_stream(
    sh: Arc<Shared>,
    request_index: usize,
    steps: Vec<Step>,
    delay: Duration,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let slot = {
        let mut streams = sh.streams.lock().unwrap();
        streams.push(StreamRecord {
            request_index,
            started: Instant::now(),
            closed_at: None,
            chunks_sent: 0,
            tokens_sent: 0,
            completed: false,
        });
        streams.len() - 1
    };
    let guard = Guard { sh, slot };
    let state = (guard, steps.into_iter());
    futures::stream::unfold(state, move |(guard, mut steps)| async move {
        match steps.next()? {
            Step::Send { bytes, token, done } => {
                if token && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                guard.update(|r| {
                    r.chunks_sent += 1;
                    r.tokens_sent += usize::from(token);
                    r.completed |= done;
                });
                Some((Ok(Bytes::from(bytes)), (guard, steps)))
            }
            Step::Abort => {
                // Let the server flush what was sent: the break comes after it.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let err = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "mock abort");
                Some((Err(err), (guard, steps)))
            }
            Step::Stall => {
                futures::future::pending::<()>().await;
                None
            }
        }
    })
}
