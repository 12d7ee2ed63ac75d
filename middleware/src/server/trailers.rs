//! The braking outcome as HTTP trailers on a streamed response, for a
//! client that accepts them (`TE: trailers`): a streaming response has sent
//! its headers before the outcome is known, so `x-selfbrake-braked`,
//! `x-selfbrake-rule` and `x-selfbrake-reasoning-tokens` follow the body,
//! and a gateway in front can log braking without parsing the stream.
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::http::{header, HeaderMap, HeaderValue};
use bytes::Bytes;
use futures::Stream;
use http_body::Frame;
use pin_project_lite::pin_project;

use crate::rewrite::headers::outcome_headers;
use crate::session::{SessionEvent, Summary};

/// Where the session's outcome waits for the end of the body.
#[derive(Clone, Default)]
pub struct OutcomeSlot(Arc<Mutex<Option<HeaderMap>>>);

impl OutcomeSlot {
    /// Keeps the outcome of the session's `End`; every event passes on.
    pub fn record(&self, event: &SessionEvent) {
        if let SessionEvent::End(summary) = event {
            self.set(summary);
        }
    }

    fn set(&self, summary: &Summary) {
        let mut headers = HeaderMap::new();
        let report = serde_json::to_value(&summary.report).unwrap_or_default();
        outcome_headers(&report, &mut headers);
        // The policy went out with the headers already.
        headers.remove(crate::rewrite::headers::POLICY);
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(headers);
        }
    }

    fn take(&self) -> Option<HeaderMap> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Whether the request's `TE` header accepts trailers (RFC 9110 §10.1.4).
pub fn accepts_trailers(headers: &HeaderMap) -> bool {
    headers.get_all(header::TE).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("trailers")
            })
        })
    })
}

/// The `Trailer` response header announcing the outcome fields (hyper sends
/// only the trailers a response announces).
pub fn announcement() -> (header::HeaderName, HeaderValue) {
    (
        header::TRAILER,
        HeaderValue::from_static(
            "x-selfbrake-braked, x-selfbrake-rule, x-selfbrake-reasoning-tokens",
        ),
    )
}

pin_project! {
    /// A streamed body whose last frame holds the outcome trailers.
    pub struct WithTrailers<S> {
        #[pin]
        inner: S,
        slot: OutcomeSlot,
        done: bool,
    }
}

impl<S> WithTrailers<S> {
    pub fn new(inner: S, slot: OutcomeSlot) -> Self {
        WithTrailers {
            inner,
            slot,
            done: false,
        }
    }
}

impl<S> http_body::Body for WithTrailers<S>
where
    S: Stream<Item = Result<Bytes, Infallible>>,
{
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(this.slot.take().map(|t| Ok(Frame::trailers(t))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_trailers_are_the_ones_written() {
        use crate::rewrite::headers::{BRAKED, REASONING_TOKENS, RULE};
        let (_, announced) = announcement();
        let names: Vec<&str> = announced.to_str().unwrap().split(", ").collect();
        assert_eq!(
            names,
            [BRAKED.as_str(), RULE.as_str(), REASONING_TOKENS.as_str()]
        );
    }

    #[test]
    fn te_trailers_is_read_as_rfc_9110_writes_it() {
        let te = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::TE, HeaderValue::from_static(v));
            accepts_trailers(&h)
        };
        assert!(te("trailers"));
        assert!(te("gzip, Trailers"));
        assert!(te("trailers;q=1"));
        assert!(!te("gzip"));
        assert!(!accepts_trailers(&HeaderMap::new()));
    }
}
