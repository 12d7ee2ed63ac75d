//! A bare HTTP/1.1 upstream for what the main mock cannot show: how many
//! TCP connections a client opens, and what a proxy does with a whole
//! stream written in one piece.
//!
//! Every `POST` is answered with the same SSE stream (role chunk, `tokens`
//! reasoning tokens, a content token with `finish_reason`, usage, `data:
//! [DONE]`), one HTTP chunk per event as vLLM sends them, but all in one
//! socket write, so the client reads them in one go (as a proxy does when
//! a fast engine is ahead of it). Connections are kept alive unless
//! `close_after_response`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::frame::{escape, Frame};

/// Largest request head or body this upstream reads.
const MAX_REQUEST: usize = 1 << 20;

#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    /// Reasoning tokens in the stream.
    pub tokens: usize,
    /// Write this many events, wait, then write the rest and the end of
    /// the body. Events are the role chunk, the tokens, the finishing
    /// chunk, usage and `[DONE]`: `tokens + 4` pauses between `[DONE]` and
    /// the end of the body.
    pub pause: Option<(usize, Duration)>,
    /// Close the connection after each response, without saying so in a
    /// `Connection: close` header (as a server whose keep-alive just ran
    /// out does).
    pub close_after_response: bool,
}

#[derive(Default)]
struct Counts {
    connections: AtomicUsize,
    requests: AtomicUsize,
}

/// The upstream; stops when dropped.
pub struct RawUpstream {
    addr: std::net::SocketAddr,
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

impl RawUpstream {
    pub async fn start(cfg: RawConfig) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let counts = Arc::new(Counts::default());
        let chunks: Vec<String> = sse_events(cfg.tokens)
            .iter()
            .map(|e| format!("{:x}\r\n{e}\r\n", e.len()))
            .collect();
        let split = cfg.pause.map_or(chunks.len(), |(n, _)| n.min(chunks.len()));
        let body = Arc::new((chunks[..split].concat(), chunks[split..].concat()));
        let task = tokio::spawn({
            let counts = counts.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    counts.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(serve(stream, cfg.clone(), body.clone(), counts.clone()));
                }
            }
        });
        RawUpstream { addr, counts, task }
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The SSE events every request gets.
pub fn sse_events(tokens: usize) -> Vec<String> {
    let frame = Frame::new("chatcmpl-raw", "mock-model", 1);
    let mut events = vec![frame.role()];
    for i in 0..tokens {
        events.push(frame.token("reasoning_content", &escape(&format!("t{i} ")), None));
    }
    events.push(frame.token("content", &escape("4"), Some("stop")));
    events.push(frame.usage(10, tokens as u64 + 1, Some(tokens as u64)));
    events.push(crate::frame::DONE.to_string());
    events
}

async fn serve(
    mut stream: TcpStream,
    cfg: RawConfig,
    body: Arc<(String, String)>,
    counts: Arc<Counts>,
) {
    let mut buf = Vec::new();
    while read_request(&mut stream, &mut buf).await.is_some() {
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let (first, rest) = &*body;
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{first}"
        );
        let end = format!("{rest}0\r\n\r\n");
        if let Some((_, pause)) = cfg.pause {
            if stream.write_all(out.as_bytes()).await.is_err() {
                return;
            }
            out.clear();
            tokio::time::sleep(pause).await;
        }
        out.push_str(&end);
        if stream.write_all(out.as_bytes()).await.is_err() || cfg.close_after_response {
            return;
        }
    }
}

/// Reads one request (head and `Content-Length` body); `None` at end of
/// file or on anything this upstream does not understand.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_REQUEST || read_more(stream, buf).await? == 0 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(Some(0), |v| v.trim().parse().ok())?;
    if length > MAX_REQUEST {
        return None;
    }
    while buf.len() < head_end + length {
        if read_more(stream, buf).await? == 0 {
            return None;
        }
    }
    buf.drain(..head_end + length);
    Some(())
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await.ok()?;
    buf.extend_from_slice(&chunk[..n]);
    Some(n)
}
