use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use http_body::Frame;
use pin_project_lite::pin_project;

use super::RequestWatch;

pin_project! {
    /// The response body as the connection sees it: each poll means the
    /// client took what it had been handed, each item is bytes handed over
    /// (see `watch.rs`). It must be the outermost layer of the body:
    /// anything outside it that polls ahead (write coalescing) would look
    /// like a client taking bytes.
    pub struct Watched<S> {
        #[pin]
        inner: S,
        watch: Option<RequestWatch>,
    }
}

impl<S> Watched<S> {
    pub fn new(inner: S, watch: Option<RequestWatch>) -> Self {
        Watched { inner, watch }
    }
}

impl<S: Stream> Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if let Some(watch) = this.watch.as_ref() {
            watch.polled();
        }
        let polled = this.inner.poll_next(cx);
        if let (Poll::Ready(Some(_)), Some(watch)) = (&polled, this.watch.as_ref()) {
            watch.handed();
        }
        polled
    }
}

/// The response body itself, so that no stream-to-body adapter sits
/// between the connection and the stream: one call less per token.
impl<S> http_body::Body for Watched<S>
where
    S: Stream<Item = Result<Bytes, Infallible>>,
{
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.poll_next(cx)
            .map(|item| item.map(|data| data.map(Frame::data)))
    }
}
