//! One streaming chat request, timed chunk by chunk and checked for
//! well-formedness (status 200, `[DONE]` seen and last, one completion id,
//! every data line valid JSON, a finish reason).
//!
//! A raw hyper client with a bare line scanner keeps the load generator's
//! own cost per token small: it shares the CPU with what it measures.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// The HTTP client every worker shares (one keep-alive pool).
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A client whose pool keeps every connection it opened.
pub fn http_client() -> HttpClient {
    let mut conn = HttpConnector::new();
    conn.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(90))
        .build(conn)
}

/// What one request measured.
#[derive(Debug, Default)]
pub struct Record {
    /// Transport or HTTP failure (the request counts as an error).
    pub error: Option<String>,
    /// 200 but not well-formed: why.
    pub malformed: Option<String>,
    pub ttft: Option<Duration>,
    /// Gaps between consecutive token chunks, µs.
    pub gaps_us: Vec<u32>,
    pub tokens: u64,
    /// Tokens that arrived before the window's end.
    pub tokens_in_window: u64,
    pub total: Duration,
    /// The request ended (successfully) before the window's end.
    pub done_in_window: bool,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
}

impl Delta<'_> {
    fn has_text(&self) -> bool {
        [&self.content, &self.reasoning_content, &self.reasoning]
            .iter()
            .any(|f| f.as_ref().is_some_and(|s| !s.is_empty()))
    }
}

/// Scanner state of one response body.
#[derive(Default)]
struct Scan {
    id: Option<String>,
    done: bool,
    finish: bool,
    problem: Option<String>,
    last_token: Option<Instant>,
}

impl Scan {
    fn data(
        &mut self,
        payload: &[u8],
        now: Instant,
        start: Instant,
        deadline: Instant,
        rec: &mut Record,
    ) {
        if self.done {
            self.problem
                .get_or_insert_with(|| "data after [DONE]".into());
            return;
        }
        if payload == b"[DONE]" {
            self.done = true;
            return;
        }
        let chunk: Chunk = match serde_json::from_slice(payload) {
            Ok(c) => c,
            Err(e) => {
                self.problem
                    .get_or_insert_with(|| format!("invalid JSON: {e}"));
                return;
            }
        };
        if chunk.error.is_some() {
            let text = String::from_utf8_lossy(payload);
            self.problem
                .get_or_insert_with(|| format!("error in stream: {text}"));
        }
        match (&self.id, chunk.id) {
            (None, Some(id)) => self.id = Some(id.into_owned()),
            (Some(a), Some(b)) if *a != b => {
                self.problem
                    .get_or_insert_with(|| format!("two ids: {a} and {b}"));
            }
            _ => {}
        }
        for c in &chunk.choices {
            if c.finish_reason.is_some() {
                self.finish = true;
            }
            if c.delta.as_ref().is_some_and(Delta::has_text) {
                rec.tokens += 1;
                if now <= deadline {
                    rec.tokens_in_window += 1;
                }
                match self.last_token {
                    None => rec.ttft = Some(now - start),
                    Some(prev) => rec.gaps_us.push(micros(now - prev)),
                }
                self.last_token = Some(now);
            }
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// The request body every worker sends.
pub fn chat_body(model: &str) -> Bytes {
    let v = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "How many apples are on the shelves?"}],
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    Bytes::from(v.to_string())
}

/// Streams one chat completion from `url`; never takes longer than
/// `timeout`. `deadline` is the end of the measuring window.
pub async fn stream_chat(
    client: &HttpClient,
    url: &http::Uri,
    body: Bytes,
    timeout: Duration,
    deadline: Instant,
) -> Record {
    let start = Instant::now();
    let mut rec = Record::default();
    let run = run(client, url, body, start, deadline, &mut rec);
    let outcome = tokio::time::timeout(timeout, run).await;
    rec.total = start.elapsed();
    match outcome {
        Err(_) => rec.error = Some(format!("timeout after {timeout:?}")),
        Ok(Err(e)) => rec.error = Some(e),
        Ok(Ok(())) => rec.done_in_window = Instant::now() <= deadline,
    }
    rec
}

async fn run(
    client: &HttpClient,
    url: &http::Uri,
    body: Bytes,
    start: Instant,
    deadline: Instant,
    rec: &mut Record,
) -> Result<(), String> {
    let req = http::Request::post(url.clone())
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("send: {e:?}"))?;
    let status = resp.status();
    let mut body = resp.into_body();
    if !status.is_success() {
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        return Err(format!("status {status}: {text}"));
    }
    let mut scan = Scan::default();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("body: {e}"))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let now = Instant::now();
        buf.extend_from_slice(data);
        let mut from = 0;
        while let Some(nl) = buf[from..].iter().position(|&b| b == b'\n') {
            let mut line = &buf[from..from + nl];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            if let Some(p) = line.strip_prefix(b"data:") {
                let p = p.strip_prefix(b" ").unwrap_or(p);
                scan.data(p, now, start, deadline, rec);
            }
            from += nl + 1;
        }
        buf.drain(..from);
    }
    let problem = if let Some(p) = scan.problem {
        Some(p)
    } else if !scan.done {
        Some("no [DONE]".to_string())
    } else if !scan.finish {
        Some("no finish_reason".to_string())
    } else if rec.tokens == 0 {
        Some("no tokens".to_string())
    } else {
        None
    };
    rec.malformed = problem;
    Ok(())
}
