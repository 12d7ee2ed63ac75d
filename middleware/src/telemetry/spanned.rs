use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use pin_project_lite::pin_project;
use selfbrake_adapters::EventStream;
use tracing::Span;

pin_project! {
    /// A stream that lives inside a span: the span ends when the stream is
    /// dropped (the upstream generation ended or was cut), and whatever is
    /// logged while it is polled belongs to it.
    pub struct Spanned<S> {
        #[pin]
        inner: S,
        span: Span,
    }
}

impl<S: Stream> Stream for Spanned<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let _entered = this.span.enter();
        this.inner.poll_next(cx)
    }
}

/// `stream`, kept inside `span` for as long as it lives.
pub fn in_span(stream: EventStream, span: Span) -> EventStream {
    Box::pin(Spanned {
        inner: stream,
        span,
    })
}
