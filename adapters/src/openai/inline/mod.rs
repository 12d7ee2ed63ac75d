//! Streaming requests over connections the response stream drives itself
//! (see `body`), for plain-HTTP upstreams.
//!
//! The request is built with reqwest as before (headers, auth, JSON body),
//! then sent over a pooled socket with hyper's HTTP/1 connection API. A 2xx
//! event stream is read straight from the driven body ([`InlineAnswer::into_events`]);
//! the rare answers read whole (an error status, a JSON answer) become a
//! `reqwest::Response`, so that code does not know which client sent them. `https` upstreams, and any process
//! that sets an HTTP proxy in its environment, keep the pooled reqwest
//! client, which does TLS and honours the proxy variables.

mod body;
mod pool;
mod wake;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::normalise::Normaliser;
use super::stream::{Limits, ReadError};
use crate::{AdapterError, EventStream};
use body::{DrivenBody, Exchange};
use pool::Pool;

pub use body::Release;

/// Idle sockets kept per upstream, at most: as many as the streams that
/// ran at once, up to this.
const MAX_IDLE: usize = 4096;

/// Sends streaming requests to one `http://` upstream.
#[derive(Clone)]
pub struct InlineClient {
    host: String,
    port: u16,
    connect_timeout: Duration,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for InlineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl InlineClient {
    /// `None` where the reqwest client must stay: not `http`, or a proxy set.
    pub fn for_base(
        base: &reqwest::Url,
        connect_timeout: Duration,
        keep: Duration,
    ) -> Option<Self> {
        if base.scheme() != "http" || proxy_in_env() {
            return None;
        }
        Some(InlineClient {
            host: base.host_str()?.to_string(),
            port: base.port_or_known_default()?,
            connect_timeout,
            pool: Pool::new(keep, MAX_IDLE),
        })
    }

    /// Sends a request built for this upstream; the response body drives
    /// the connection. A request that reused an idle socket and failed
    /// before any response came is sent again once, on a new connection:
    /// the server may have closed the socket just as it was taken.
    pub async fn send(&self, request: reqwest::Request) -> Result<InlineAnswer, AdapterError> {
        let request = self.prepare(request)?;
        if let Some(stream) = self.pool.take() {
            match self.exchange(stream, request.build()?).await {
                Ok(response) => return Ok(response),
                Err(e) => {
                    tracing::debug!(error = %e, "reused upstream connection failed; retrying")
                }
            }
        }
        let stream = self.connect().await?;
        self.exchange(stream, request.build()?)
            .await
            .map_err(|e| AdapterError::Connect(hyper_text(&e)))
    }

    async fn connect(&self) -> Result<TcpStream, AdapterError> {
        let addr = (self.host.as_str(), self.port);
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                AdapterError::Connect(format!(
                    "connecting to {}:{} took longer than {:?}",
                    self.host, self.port, self.connect_timeout
                ))
            })?
            .map_err(|e| AdapterError::Connect(format!("{}:{}: {e}", self.host, self.port)))?;
        // One small request write per exchange: nothing to gain from Nagle.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// Sends the request and drives the connection until the response head.
    async fn exchange(
        &self,
        stream: TcpStream,
        request: http::Request<Full<Bytes>>,
    ) -> Result<InlineAnswer, hyper::Error> {
        let (mut sender, mut conn) = http1::handshake(TokioIo::new(stream)).await?;
        let mut sent = std::pin::pin!(sender.send_request(request));
        let mut conn_done = false;
        let response = futures::future::poll_fn(|cx| loop {
            if let std::task::Poll::Ready(r) = sent.as_mut().poll(cx) {
                return std::task::Poll::Ready(r);
            }
            if conn_done {
                return std::task::Poll::Pending;
            }
            match conn.poll_without_shutdown(cx) {
                std::task::Poll::Pending => return std::task::Poll::Pending,
                // Closed or failed: the request future resolves with the error.
                std::task::Poll::Ready(_) => conn_done = true,
            }
        })
        .await?;
        let release = Release::default();
        let (head, body) = response.into_parts();
        let body = DrivenBody::new(
            Exchange { sender, conn, body },
            release.clone(),
            self.pool.clone(),
        );
        Ok(InlineAnswer {
            head,
            body,
            release,
        })
    }

    fn prepare(&self, request: reqwest::Request) -> Result<Prepared, AdapterError> {
        let url = request.url();
        if url.scheme() != "http"
            || url.host_str() != Some(self.host.as_str())
            || url.port_or_known_default() != Some(self.port)
        {
            return Err(AdapterError::Internal(format!(
                "{url} is not on the upstream {}:{}",
                self.host, self.port
            )));
        }
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let body = match request.body() {
            None => Bytes::new(),
            Some(b) => Bytes::copy_from_slice(b.as_bytes().ok_or_else(|| {
                AdapterError::Internal("a streamed request body cannot be sent inline".into())
            })?),
        };
        let mut headers = request.headers().clone();
        if !headers.contains_key(http::header::HOST) {
            let host = match url.port() {
                Some(port) => format!("{}:{port}", self.host),
                None => self.host.clone(),
            };
            let value = http::HeaderValue::from_str(&host)
                .map_err(|e| AdapterError::Internal(format!("host header: {e}")))?;
            headers.insert(http::header::HOST, value);
        }
        Ok(Prepared {
            method: request.method().clone(),
            path,
            headers,
            body,
        })
    }
}

/// An upstream's answer over an inline connection: its head, and the body
/// that drives the connection.
pub struct InlineAnswer {
    head: http::response::Parts,
    body: DrivenBody,
    release: Release,
}

impl InlineAnswer {
    pub fn status(&self) -> http::StatusCode {
        self.head.status
    }

    pub fn headers(&self) -> &http::HeaderMap {
        &self.head.headers
    }

    /// The events of a 2xx SSE answer, read from the driven body itself:
    /// no reqwest body, boxed body or byte stream in between, layers that
    /// each cost a call per token.
    pub fn into_events(self, limits: Limits, norm: Normaliser) -> EventStream {
        super::stream::chunks(self.body, Some(self.release), limits, norm)
    }

    /// For the answers read whole (an error status, a JSON answer).
    pub fn into_reqwest(self) -> reqwest::Response {
        let body = reqwest::Body::wrap_stream(self.body);
        reqwest::Response::from(http::Response::from_parts(self.head, body))
    }
}

impl ReadError for hyper::Error {
    fn into_adapter(self) -> AdapterError {
        AdapterError::Closed(hyper_text(&self))
    }
}

/// A request that can be sent more than once (`http::Request` is not `Clone`).
struct Prepared {
    method: http::Method,
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Prepared {
    fn build(&self) -> Result<http::Request<Full<Bytes>>, AdapterError> {
        let mut out = http::Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .body(Full::new(self.body.clone()))
            .map_err(|e| AdapterError::Internal(format!("upstream request: {e}")))?;
        *out.headers_mut() = self.headers.clone();
        Ok(out)
    }
}

/// reqwest routes plain-HTTP requests through these when they are set.
fn proxy_in_env() -> bool {
    ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// A hyper error with its source chain.
fn hyper_text(e: &hyper::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
