use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use pin_project_lite::pin_project;
use selfbrake_adapters::EventStream;
use tracing::Span;

pin_project! {
    /// A backend's stream that lives inside a span: the span ends when the
    /// stream is dropped (the generation ended or was cut), is marked failed
    /// when the stream fails, and whatever is logged while it is polled
    /// belongs to it.
    pub struct Spanned {
        #[pin]
        inner: EventStream,
        span: Span,
    }
}

impl Stream for Spanned {
    type Item = <EventStream as Stream>::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let _entered = this.span.enter();
        let polled = this.inner.poll_next(cx);
        if let Poll::Ready(Some(Err(error))) = &polled {
            super::spans::failed(this.span, error);
        }
        polled
    }
}

/// `stream`, kept inside `span` for as long as it lives; without tracing,
/// `stream` as it is, so that a span nobody exports costs nothing per token.
pub fn in_span(stream: EventStream, span: Span) -> EventStream {
    if !super::context::is_traced(&span) {
        return stream;
    }
    Box::pin(Spanned {
        inner: stream,
        span,
    })
}
