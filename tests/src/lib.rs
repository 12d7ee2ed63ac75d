//! Test support: an in-process mock vLLM upstream speaking vLLM's exact
//! OpenAI-compatible wire format, and real reasoning traces.
//!
//! ```no_run
//! # async fn demo() {
//! use selfbrake_tests::{MockConfig, MockUpstream, ReasoningForm, Script};
//! let script = Script::new("Two plus two is \\boxed{4}.", "It is 4.")
//!     .form(ReasoningForm::InlineThink)
//!     .delay(std::time::Duration::from_millis(5));
//! let mock = MockUpstream::start(MockConfig { script, ..MockConfig::default() }).await;
//! let base_url = mock.base_url(); // http://127.0.0.1:PORT/v1
//! // ... drive a client against it, then:
//! let bodies = mock.chat_bodies();
//! let closed = mock.wait_closed(0, std::time::Duration::from_secs(1)).await;
//! # }
//! ```
//!
//! Behaviour of `POST /v1/chat/completions`:
//! - a request whose last message is the assistant's is a *continuation*:
//!   the answer is content only — `MockConfig::continuation_answer`, or
//!   `The final answer is $\boxed{X}$.` with X the last `\boxed{}` of that
//!   prefix, or the script's answer;
//! - otherwise the script: reasoning (in `Script::form`) then the answer,
//!   one token (`script::tokenize`) per chunk, `Script::delay` before each;
//! - `max_completion_tokens` / `max_tokens` truncate the tokens (then
//!   `finish_reason` is `"length"`);
//! - `stream: true` gets SSE (role chunk, token chunks, the finishing chunk
//!   with `finish_reason`, a usage chunk with `choices: []` when
//!   `stream_options.include_usage` is true, `data: [DONE]`);
//!   otherwise a `chat.completion` body. Usage: `completion_tokens` = token
//!   chunks (tags of the inline forms count one each), `prompt_tokens` =
//!   [`mock::prompt_tokens`].
//!
//! `GET /v1/models` lists `MockConfig::model` the way vLLM does.
#![forbid(unsafe_code)]

mod body;
pub mod frame;
pub mod metrics;
pub mod mock;
pub mod probe;
pub mod raw;
mod routes;
pub mod script;
mod shapes;
pub mod traces;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub use mock::{RecordedRequest, StreamRecord};
pub use probe::{Belief, ProbeScript};
pub use script::{tokenize, ReasoningForm, Script};
pub use selfbrake_policies::text::last_boxed;
pub use traces::{load_traces, repo_root, trace, traces_path, Trace};
pub use wire::GARBAGE_AFTER;

/// A failure the mock plays instead of (or in the middle of) its answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Misbehaviour {
    #[default]
    None,
    /// Answer at once with this status, body and content type.
    Status {
        status: u16,
        body: String,
        content_type: String,
    },
    /// A line that is not SSE, after [`GARBAGE_AFTER`] data chunks.
    MalformedSse,
    /// A `data:` line with broken JSON, after [`GARBAGE_AFTER`] data chunks.
    InvalidJson,
    /// Break the connection after this many data chunks (role chunk
    /// included), with no `[DONE]`.
    CloseMidStream { after_chunks: usize },
    /// End the body cleanly after this many data chunks, with no `[DONE]`.
    EndWithoutDone { after_chunks: usize },
    /// Never send response headers.
    HangBeforeHeaders,
    /// Send this many data chunks, then nothing, keeping the connection.
    StallAfter { chunks: usize },
    /// A valid chunk whose line is about this many bytes, after
    /// [`GARBAGE_AFTER`] data chunks.
    HugeLine(usize),
}

impl Misbehaviour {
    /// A status fault with vLLM's JSON error body.
    pub fn status(status: u16, message: &str) -> Misbehaviour {
        let body = serde_json::json!({"object": "error", "message": message,
            "type": "BadRequestError", "param": null, "code": status});
        Misbehaviour::Status {
            status,
            body: body.to_string(),
            content_type: "application/json".into(),
        }
    }
}

/// The mock's behaviour.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Served model name (`"mock-model"`).
    pub model: String,
    pub script: Script,
    /// Answer to continuations (see the crate doc for the default).
    pub continuation_answer: Option<String>,
    /// Misbehaviour of ordinary chat requests.
    pub fault: Misbehaviour,
    /// Misbehaviour of continuations.
    pub continuation_fault: Misbehaviour,
    /// Send the continuation's answer as reasoning (in the script's form),
    /// as a vLLM reasoning parser does when it does not see the `</think>`
    /// that closed the prefix. Default false.
    pub continuation_in_reasoning: bool,
    /// Repeat the continuation's prefix at the start of its answer, joined
    /// to the first token, as llama.cpp's server does. Default false.
    pub continuation_echo: bool,
    /// Add `completion_tokens_details.reasoning_tokens` to usage (vLLM
    /// does not; default false).
    pub report_reasoning_tokens: bool,
    /// Serve probes (`/tokenize`, `/detokenize`, `/v1/completions`) from
    /// scripted beliefs; see [`probe`]. Default none.
    pub probe: Option<ProbeScript>,
    /// Scripts by question: a chat request whose user messages contain the
    /// key is answered with that script instead of `script`.
    pub by_question: Vec<(String, Script)>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            model: "mock-model".into(),
            script: Script::default(),
            continuation_answer: None,
            fault: Misbehaviour::None,
            continuation_fault: Misbehaviour::None,
            continuation_in_reasoning: false,
            continuation_echo: false,
            report_reasoning_tokens: false,
            probe: None,
            by_question: Vec::new(),
        }
    }
}

impl MockConfig {
    pub fn with_script(script: Script) -> Self {
        MockConfig {
            script,
            ..MockConfig::default()
        }
    }

    /// This config with the script that answers `body` (see `by_question`).
    pub fn for_request(mut self, body: &Value) -> Self {
        let users = body["messages"].as_array().into_iter().flatten();
        let asked: String = users
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect();
        if let Some((_, s)) = self
            .by_question
            .iter()
            .find(|(q, _)| asked.contains(q.as_str()))
        {
            self.script = s.clone();
        }
        self
    }
}

/// A running mock upstream on `127.0.0.1:<ephemeral>`. Stops when dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<mock::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl MockUpstream {
    /// Binds `127.0.0.1:<ephemeral>` and serves in a spawned task (needs a tokio runtime).
    pub async fn start(cfg: MockConfig) -> MockUpstream {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_at(addr, cfg).await.expect("bind mock upstream")
    }

    /// Binds `addr` and serves in a spawned task (needs a tokio runtime).
    pub async fn start_at(addr: SocketAddr, cfg: MockConfig) -> std::io::Result<MockUpstream> {
        let shared = Arc::new(mock::Shared {
            cfg: Mutex::new(cfg),
            requests: Mutex::new(Vec::new()),
            streams: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = mock::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "mock upstream stopped");
            }
        });
        Ok(MockUpstream { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        mock::addr_url(self.addr)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Bodies of the chat requests, in order.
    pub fn chat_bodies(&self) -> Vec<Value> {
        let reqs = self.requests();
        reqs.into_iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .map(|r| r.body)
            .collect()
    }

    /// Every streamed body, in the order they started.
    pub fn streams(&self) -> Vec<StreamRecord> {
        self.shared.streams.lock().unwrap().clone()
    }

    /// The stream answering request `request_index`, once it has closed;
    /// `None` if it has not closed within `timeout`.
    pub async fn wait_closed(
        &self,
        request_index: usize,
        timeout: Duration,
    ) -> Option<StreamRecord> {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .streams()
                .into_iter()
                .find(|s| s.request_index == request_index && s.closed_at.is_some());
            if found.is_some() || tokio::time::Instant::now() >= end {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Changes the behaviour for later requests.
    pub fn update(&self, f: impl FnOnce(&mut MockConfig)) {
        f(&mut self.shared.cfg.lock().unwrap());
    }

    pub fn set_script(&self, script: Script) {
        self.update(|c| c.script = script);
    }

    pub fn set_fault(&self, fault: Misbehaviour) {
        self.update(|c| c.fault = fault);
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
