use serde::Deserialize;

/// Which delta field carries reasoning to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningField {
    /// `reasoning_content`: DeepSeek API and older vLLM; what most clients read.
    #[default]
    ReasoningContent,
    /// `reasoning`: vLLM ≥ 0.11.
    Reasoning,
    /// Both fields, for clients of either kind.
    Both,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Request bodies above this get 413.
    pub max_body_bytes: usize,
    /// Requests whose headers (names and values) add up to more get 431.
    pub max_header_bytes: usize,
    pub reasoning_field: ReasoningField,
    /// After SIGTERM, streams in flight get this long to finish.
    pub shutdown_grace_ms: u64,
    /// A client that has not sent its whole request head this long after
    /// connecting is dropped (slowloris).
    pub header_read_timeout_ms: u64,
    /// A client whose request body stops arriving for this long gets 408.
    pub body_read_timeout_ms: u64,
    /// A streaming client that takes no bytes for this long is dropped and
    /// its upstream request cancelled.
    pub client_stall_ms: u64,
    /// No response lives longer than this, whether or not anyone reads it.
    pub max_request_ms: u64,
    /// Chat requests in flight at once across all tenants; beyond: 503
    /// with `Retry-After` (shed, never queued). Changes only on restart.
    pub max_concurrent_streams: usize,
    /// `/metrics` (and `/healthz`) on a listener of their own, loopback by
    /// default; empty: none. Changes only on restart.
    pub admin_listen: String,
    /// With it, `/metrics` on the main listener answers a request that
    /// carries `Authorization: Bearer <token>`; without it, 404 there.
    pub metrics_token: Option<String>,
    /// Serve requests without a key on a non-loopback `listen`. Needed with
    /// no `[tenants]` (every request is then anonymous) or an anonymous tenant.
    pub allow_anonymous: bool,
    /// Threads that serve clients, each with its own connections; 0: one
    /// per CPU this process may use. Changes only on restart.
    pub worker_threads: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8787".into(),
            max_body_bytes: 4 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            reasoning_field: ReasoningField::default(),
            shutdown_grace_ms: 30_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            client_stall_ms: 60_000,
            max_request_ms: 60 * 60_000,
            max_concurrent_streams: 4096,
            admin_listen: "127.0.0.1:9787".into(),
            metrics_token: None,
            allow_anonymous: false,
            worker_threads: 1,
        }
    }
}
