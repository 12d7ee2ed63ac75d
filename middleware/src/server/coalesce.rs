use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use pin_project_lite::pin_project;

/// Most bytes gathered into one write.
const MAX_BATCH: usize = 64 * 1024;

pin_project! {
    /// Joins the chunks that are ready at once into one body write, so a
    /// burst of tokens costs one syscall, not one per token. A chunk is never
    /// held back waiting for more: the batch ends as soon as the inner stream
    /// has nothing ready.
    pub struct Coalesce<S> {
        #[pin]
        inner: S,
        done: bool,
    }
}

impl<S> Coalesce<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, done: false }
    }
}

impl<S> Stream for Coalesce<S>
where
    S: Stream<Item = Result<Bytes, Infallible>>,
{
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let first = match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => bytes,
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Ready(None) => {
                *this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => return Poll::Pending,
        };
        let mut batch: Option<BytesMut> = None;
        while batch.as_ref().map_or(first.len(), BytesMut::len) < MAX_BATCH {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(more))) => {
                    batch
                        .get_or_insert_with(|| BytesMut::from(&first[..]))
                        .extend_from_slice(&more);
                }
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => {
                    *this.done = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        Poll::Ready(Some(Ok(batch.map_or(first, BytesMut::freeze))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn ready_chunks_become_one_write_and_nothing_is_lost() {
        let parts: Vec<Result<Bytes, std::convert::Infallible>> = (0..5)
            .map(|i| Ok(Bytes::from(format!("data: {i}\n\n"))))
            .collect();
        let batches: Vec<_> = Coalesce::new(futures::stream::iter(parts)).collect().await;
        assert_eq!(batches.len(), 1);
        let all = batches[0].as_ref().unwrap();
        assert_eq!(
            &all[..],
            b"data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n"
        );
    }

    #[tokio::test]
    async fn a_chunk_is_not_held_back_when_nothing_else_is_ready() {
        let (tx, rx) =
            futures::channel::mpsc::unbounded::<Result<Bytes, std::convert::Infallible>>();
        let mut stream = Coalesce::new(rx);
        tx.unbounded_send(Ok(Bytes::from_static(b"one"))).unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"one");
        tx.unbounded_send(Ok(Bytes::from_static(b"two"))).unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"two");
        drop(tx);
        assert!(stream.next().await.is_none());
    }
}
