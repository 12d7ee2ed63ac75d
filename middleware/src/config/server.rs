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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8787".into(),
            max_body_bytes: 4 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            reasoning_field: ReasoningField::default(),
            shutdown_grace_ms: 30_000,
        }
    }
}
