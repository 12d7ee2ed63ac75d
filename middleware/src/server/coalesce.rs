use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures::Stream;
use pin_project_lite::pin_project;

/// Most bytes gathered into one write.
const MAX_BATCH: usize = 64 * 1024;

/// What [`Coalesce`] does with the items of a batch. Any
/// `FnMut(item, &mut String)` appends the item's bytes; an encoder that
/// also accounts for the batch (its span, the proxy's own time) does it
/// once per batch in [`Encode::batch`], not once per item.
pub trait Encode<T> {
    /// Appends `item`'s bytes to `batch`.
    fn encode(&mut self, item: T, batch: &mut String);

    /// Runs `work`: the polls and the encoding of one batch.
    fn batch<R>(&mut self, work: impl FnOnce(&mut Self) -> R) -> R {
        work(self)
    }
}

impl<T, F: FnMut(T, &mut String)> Encode<T> for F {
    fn encode(&mut self, item: T, batch: &mut String) {
        self(item, batch)
    }
}

pin_project! {
    /// Encodes every event that is ready at one wake-up into one buffer and
    /// hands it over as one body write. At full speed one upstream read
    /// holds some 200 events; encoding each into its own buffer and joining
    /// them afterwards cost an allocation and a copy per event, and sending
    /// them one by one a syscall per event. An event is never held back
    /// waiting for more: the batch ends as soon as the inner stream has
    /// nothing ready.
    pub struct Coalesce<S, E> {
        #[pin]
        inner: S,
        encode: E,
        done: bool,
        // The last batch's size: the next one starts with that much room,
        // so a burst is not copied over and over as its buffer doubles.
        hint: usize,
        // Set when a batch ended because the inner stream was pending: it
        // will wake this waker, so the poll that follows the write (the
        // connection always asks for more at once) need not walk the whole
        // session and adapter again to learn that nothing is ready.
        parked: Option<Waker>,
    }
}

impl<S, E> Coalesce<S, E> {
    /// `encode` appends an event's bytes to the batch.
    pub fn new(inner: S, encode: E) -> Self {
        Self {
            inner,
            encode,
            done: false,
            hint: 0,
            parked: None,
        }
    }
}

impl<S, E> Stream for Coalesce<S, E>
where
    S: Stream,
    E: Encode<S::Item>,
{
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Some(parked) = this.parked.take() {
            if parked.will_wake(cx.waker()) {
                return Poll::Pending;
            }
        }
        let mut batch = String::with_capacity(*this.hint);
        let mut inner = this.inner;
        let done = this.done;
        let pending = this.encode.batch(|encode| {
            while !*done && batch.len() < MAX_BATCH {
                match inner.as_mut().poll_next(cx) {
                    Poll::Ready(Some(event)) => encode.encode(event, &mut batch),
                    Poll::Ready(None) => *done = true,
                    Poll::Pending => return true,
                }
            }
            false
        });
        if !batch.is_empty() {
            *this.hint = batch.len().min(MAX_BATCH);
            if pending {
                *this.parked = Some(cx.waker().clone());
            }
            // Sized to its content, the buffer becomes the `Bytes` as it
            // is (a buffer with spare room costs `Bytes` a second
            // allocation to share it).
            Poll::Ready(Some(Ok(Bytes::from(
                batch.into_boxed_str().into_boxed_bytes(),
            ))))
        } else if *done {
            Poll::Ready(None)
        } else {
            // Nothing ready, or only events that write nothing: the inner
            // stream is pending and will wake us.
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn lines(n: u32, batch: &mut String) {
        batch.push_str(&format!("data: {n}\n\n"));
    }

    #[tokio::test]
    async fn ready_events_become_one_write_and_nothing_is_lost() {
        let batches: Vec<_> = Coalesce::new(futures::stream::iter(0..5), lines)
            .collect()
            .await;
        assert_eq!(batches.len(), 1);
        let all = batches[0].as_ref().unwrap();
        assert_eq!(
            &all[..],
            b"data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n"
        );
    }

    #[tokio::test]
    async fn an_event_is_not_held_back_when_nothing_else_is_ready() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<u32>();
        let mut stream = Coalesce::new(rx, lines);
        tx.unbounded_send(1).unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"data: 1\n\n");
        tx.unbounded_send(2).unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"data: 2\n\n");
        drop(tx);
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn events_that_write_nothing_make_no_empty_write() {
        let skip_odd = |n: u32, batch: &mut String| {
            if n.is_multiple_of(2) {
                lines(n, batch)
            }
        };
        let batches: Vec<_> = Coalesce::new(futures::stream::iter([1, 3]), skip_odd)
            .collect()
            .await;
        assert!(batches.is_empty(), "{batches:?}");
    }

    #[tokio::test]
    async fn the_poll_after_a_batch_waits_for_the_inner_wake_up() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<u32>();
        let mut stream = Coalesce::new(rx, lines);
        tx.unbounded_send(1).unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"data: 1\n\n");
        // Sent while the batch was being written: the channel wakes the
        // task, and the event is not lost.
        tx.unbounded_send(2).unwrap();
        tx.unbounded_send(3).unwrap();
        assert_eq!(
            &stream.next().await.unwrap().unwrap()[..],
            b"data: 2\n\ndata: 3\n\n"
        );
    }

    #[tokio::test]
    async fn a_long_burst_is_split_at_the_batch_limit() {
        let big = |_: u32, batch: &mut String| batch.push_str(&"x".repeat(40 * 1024));
        let batches: Vec<_> = Coalesce::new(futures::stream::iter(0..3), big)
            .collect()
            .await;
        let sizes: Vec<usize> = batches.iter().map(|b| b.as_ref().unwrap().len()).collect();
        assert_eq!(sizes, vec![80 * 1024, 40 * 1024]);
    }

    #[tokio::test]
    async fn an_encoder_accounts_once_per_batch() {
        struct Counting(u32);
        impl Encode<u32> for Counting {
            fn encode(&mut self, item: u32, batch: &mut String) {
                lines(item, batch)
            }
            fn batch<R>(&mut self, work: impl FnOnce(&mut Self) -> R) -> R {
                self.0 += 1;
                work(self)
            }
        }
        let mut stream = Coalesce::new(futures::stream::iter(0..5), Counting(0));
        let all = stream.next().await.unwrap().unwrap();
        assert_eq!(all.len(), 5 * "data: 0\n\n".len());
        assert_eq!(stream.encode.0, 1);
    }
}
