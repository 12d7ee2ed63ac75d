//! A fast mock vLLM for benchmarks: streams a reasoning trace in vLLM's SSE
//! format at a fixed token rate per stream and answers continuations (last
//! message from the assistant) with the answer only.
//!
//! Unlike the test mock (`selfbrake-tests`), it scripts nothing and renders
//! chunks by concatenation, so thousands of streams cost it little CPU and
//! it does not become the bottleneck of what it measures. The first token
//! goes out with the headers (no prefill delay), so time to first token
//! through a proxy minus time to first token direct is the proxy's cost.
//! A request for `--fast-model` streams with no delay (saturation runs).
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use futures::stream::{self, StreamExt};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use selfbrake_bench::trace::{self, Generation};
use selfbrake_tests::frame::{self as wire, Frame as Chunks};
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(about = "Fast mock vLLM upstream for benchmarks")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8100")]
    listen: SocketAddr,
    /// Tokens per second per stream (0: as fast as possible).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Reasoning tokens per generation (synthetic text, or cap on traces).
    #[arg(long, default_value_t = 200)]
    tokens: usize,
    /// Read reasoning from this trace JSONL file (e.g. data/traces/dev.jsonl).
    #[arg(long)]
    traces: Option<PathBuf>,
    /// `reasoning_content` (vLLM < 0.16) or `reasoning` (vLLM ≥ 0.11).
    #[arg(long, default_value = "reasoning_content")]
    field: String,
    /// Requests for this model stream at full speed, whatever `--rate`.
    #[arg(long, default_value = "mock-model-fast")]
    fast_model: String,
    /// Exit after this many seconds (the mock never outlives a run).
    #[arg(long, default_value_t = 3600)]
    exit_after_s: u64,
}

struct Shared {
    traces: Vec<Generation>,
    /// Tokens as JSON string literals, per trace: (reasoning, answer).
    escaped: Vec<(Vec<String>, Vec<String>)>,
    field: String,
    period: Option<Duration>,
    fast_model: String,
    served: AtomicU64,
}

type Body = BoxBody<Bytes, Infallible>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let traces = match &args.traces {
        Some(p) => trace::from_jsonl(p, args.tokens).with_context(|| format!("{}", p.display()))?,
        None => vec![trace::synthetic(args.tokens)],
    };
    let escaped = traces
        .iter()
        .map(|t| {
            let e = |v: &[String]| v.iter().map(|s| wire::escape(s)).collect::<Vec<_>>();
            (e(&t.reasoning), e(&t.answer))
        })
        .collect();
    let period = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    let shared = Arc::new(Shared {
        traces,
        escaped,
        field: args.field.clone(),
        period,
        fast_model: args.fast_model.clone(),
        served: AtomicU64::new(0),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(serve(args, shared))
}

async fn serve(args: Args, shared: Arc<Shared>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "fast-upstream on {} ({} traces, rate {}/s)",
        args.listen,
        shared.traces.len(),
        args.rate
    );
    let stop = tokio::time::sleep(Duration::from_secs(args.exit_after_s));
    tokio::pin!(stop);
    loop {
        let (sock, _) = tokio::select! {
            r = listener.accept() => r?,
            _ = &mut stop => return Ok(()),
        };
        let _ = sock.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(sock), svc)
                .await;
        });
    }
}

fn full(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("static response")
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::GET {
        return Ok(match path.as_str() {
            "/v1/models" => full(200, r#"{"object":"list","data":[{"id":"mock-model","object":"model","owned_by":"bench"}]}"#.into()),
            "/health" | "/healthz" => full(200, "{}".into()),
            _ => full(404, r#"{"error":{"message":"not found","type":"not_found","code":404}}"#.into()),
        });
    }
    if !path.ends_with("/chat/completions") {
        return Ok(full(
            404,
            r#"{"error":{"message":"not found","type":"not_found","code":404}}"#.into(),
        ));
    }
    let bytes = match Limited::new(req.into_body(), 16 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(full(
                400,
                format!(r#"{{"error":{{"message":"{e}","type":"bad_request","code":400}}}}"#),
            ))
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => {
            return Ok(full(
                400,
                r#"{"error":{"message":"invalid JSON","type":"bad_request","code":400}}"#.into(),
            ))
        }
    };
    Ok(generate(&body, &shared))
}

/// The response to one chat request.
fn generate(body: &Value, shared: &Arc<Shared>) -> Response<Body> {
    let n = shared.served.fetch_add(1, Ordering::Relaxed);
    let which = (n as usize) % shared.traces.len();
    let model = body["model"].as_str().unwrap_or("mock-model").to_string();
    let continuation = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .is_some_and(|m| m["role"] == "assistant");
    let (reasoning, answer) = &shared.escaped[which];
    // (is_reasoning, escaped token)
    let mut tokens: Vec<(bool, String)> = Vec::new();
    if !continuation {
        tokens.extend(reasoning.iter().map(|t| (true, t.clone())));
    }
    tokens.extend(answer.iter().map(|t| (false, t.clone())));
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!("chatcmpl-bench{n:x}");
    let chunks = Chunks::new(&id, &model, created);
    let reasoning_n = tokens.iter().filter(|t| t.0).count() as u64;
    let completion_n = tokens.len() as u64;
    if body["stream"] != Value::Bool(true) {
        return full(
            200,
            non_stream(
                body,
                &id,
                &model,
                created,
                &shared.traces[which],
                continuation,
            ),
        );
    }
    let period = if model == shared.fast_model {
        None
    } else {
        shared.period
    };
    let field = shared.field.clone();
    let last = tokens.len().saturating_sub(1);
    let first = chunks.role() + &chunks.token(field_for(&field, tokens[0].0), &tokens[0].1, None);
    let rest = tokens
        .into_iter()
        .enumerate()
        .skip(1)
        .map(move |(i, (r, t))| {
            let finish = (i == last).then_some("stop");
            (i, chunks.token(field_for(&field, r), &t, finish))
        });
    let tail = Chunks::new(&id, &model, created).usage_and_done(12, completion_n, reasoning_n);
    // Token i is due at start + i * period: an absolute schedule, so timer
    // granularity does not slow the stream down.
    let start = tokio::time::Instant::now();
    let ticks = stream::iter(rest).then(move |(i, s)| async move {
        if let Some(p) = period {
            tokio::time::sleep_until(start + p * i as u32).await;
        }
        s
    });
    let frames = stream::once(async { first })
        .chain(ticks)
        .chain(stream::once(async { tail }))
        .map(|s| Ok::<_, Infallible>(Frame::data(Bytes::from(s))));
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(BodyExt::boxed(StreamBody::new(frames)))
        .expect("static response")
}

fn field_for(field: &str, reasoning: bool) -> &str {
    if reasoning {
        field
    } else {
        "content"
    }
}

fn non_stream(
    body: &Value,
    id: &str,
    model: &str,
    created: u64,
    t: &Generation,
    continuation: bool,
) -> String {
    let _ = body;
    let answer = t.answer.concat();
    let reasoning = if continuation {
        String::new()
    } else {
        t.reasoning.concat()
    };
    serde_json::json!({
        "id": id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer, "reasoning_content": reasoning},
                     "logprobs": null, "finish_reason": "stop", "stop_reason": null}],
        "usage": {"prompt_tokens": 12, "completion_tokens": t.answer.len() + t.reasoning.len(),
                  "total_tokens": 12 + t.answer.len() + t.reasoning.len()},
    })
    .to_string()
}
