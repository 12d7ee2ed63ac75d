use thiserror::Error;

/// Where a fault lies, so the HTTP status follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request itself is bad (the upstream answered 4xx other than auth/rate).
    Client,
    /// The upstream is unreachable, broken or sent garbage (502).
    Upstream,
    /// The upstream did not answer in time (504).
    Timeout,
    /// The backend's settings are wrong (caught when the config is built).
    Config,
    /// Our own bug.
    Internal,
}

/// Errors of a backend call.
#[derive(Debug, Error)]
pub enum AdapterError {
    #[error("upstream unreachable: {0}")]
    Connect(String),
    #[error("upstream timed out: {0}")]
    Timeout(String),
    /// The upstream answered with an HTTP error; `body` is what it sent.
    #[error("upstream returned HTTP {status}")]
    Status { status: u16, body: String },
    /// The upstream sent something that is not a valid OpenAI stream.
    #[error("upstream protocol error: {0}")]
    Protocol(String),
    /// The upstream closed the stream before it was finished.
    #[error("upstream closed the stream early: {0}")]
    Closed(String),
    #[error("backend cannot {0}")]
    Unsupported(&'static str),
    /// The backend's settings are wrong (a bad URL, an unset key variable).
    #[error("{0}")]
    Config(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AdapterError {
    pub fn fault(&self) -> Fault {
        match self {
            AdapterError::Connect(_) | AdapterError::Protocol(_) | AdapterError::Closed(_) => {
                Fault::Upstream
            }
            AdapterError::Timeout(_) => Fault::Timeout,
            AdapterError::Status { status, .. } if (400..500).contains(status) => Fault::Client,
            AdapterError::Status { .. } => Fault::Upstream,
            AdapterError::Config(_) => Fault::Config,
            AdapterError::Unsupported(_) | AdapterError::Internal(_) => Fault::Internal,
        }
    }
}
