//! Streaming requests over connections the response stream drives itself
//! (see `body`), for plain-HTTP upstreams.
//!
//! The request is built with reqwest as before (headers, auth, JSON body),
//! then written to a pooled socket as HTTP/1.1, and the response head read
//! back (`head`); the body is read by whoever polls it (`body`). A 2xx
//! event stream is read straight from that body
//! ([`InlineAnswer::into_events`]); the rare answers read whole (an error
//! status, a JSON answer) become a `reqwest::Response`, so that code does
//! not know which client sent them. `https` upstreams, and any process
//! that sets an HTTP proxy in its environment, keep the pooled reqwest
//! client, which does TLS and honours the proxy variables.

mod body;
mod framing;
mod head;
mod pool;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::normalise::Normaliser;
use super::stream::{Limits, ReadError};
use crate::{AdapterError, EventStream};
use body::DrivenBody;
use head::HeadError;
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
        let bytes = self.wire(&request)?;
        if let Some(stream) = self.pool.take() {
            match self.exchange(stream, &bytes).await {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    tracing::debug!(error = ?e, "reused upstream connection failed; retrying")
                }
            }
        }
        let stream = self.connect().await?;
        self.exchange(stream, &bytes).await.map_err(|e| match e {
            HeadError::Io(e) => AdapterError::Connect(format!("{}:{}: {e}", self.host, self.port)),
            HeadError::Protocol(e) => AdapterError::Protocol(e),
        })
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

    /// Writes the request and reads the response head.
    async fn exchange(
        &self,
        mut stream: TcpStream,
        request: &[u8],
    ) -> Result<InlineAnswer, HeadError> {
        stream
            .write_all(request)
            .await
            .map_err(|e| HeadError::Io(e.to_string()))?;
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let head = head::read_head(&mut stream, &mut buf).await?;
        let release = Release::default();
        let body = DrivenBody::new(
            stream,
            buf,
            head.framing,
            head.keep_alive,
            release.clone(),
            self.pool.clone(),
        );
        Ok(InlineAnswer {
            head: head.parts,
            body,
            release,
        })
    }

    /// The request's bytes on the wire, checked to be for this upstream.
    fn wire(&self, request: &reqwest::Request) -> Result<BytesMut, AdapterError> {
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
            None => &[][..],
            Some(b) => b.as_bytes().ok_or_else(|| {
                AdapterError::Internal("a streamed request body cannot be sent inline".into())
            })?,
        };
        let host = match url.port() {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        };
        Ok(head::request_bytes(
            request.method(),
            &path,
            request.headers(),
            &host,
            body,
        ))
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

impl ReadError for std::io::Error {
    fn into_adapter(self) -> AdapterError {
        match self.kind() {
            std::io::ErrorKind::InvalidData => AdapterError::Protocol(self.to_string()),
            _ => AdapterError::Closed(self.to_string()),
        }
    }
}

/// reqwest routes plain-HTTP requests through these when they are set.
fn proxy_in_env() -> bool {
    ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}
