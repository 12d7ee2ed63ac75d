use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
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
