//! Measurement tooling for selfbrake: a cheap mock upstream, a streaming
//! load generator and drivers that compare direct, proxied and LiteLLM runs.
//!
//! The library holds what the binaries share, so each binary stays a thin
//! command-line shell around it.
#![forbid(unsafe_code)]

pub mod client;
pub mod driver;
pub mod hostile;
pub mod load;
pub mod procfs;
pub mod procs;
pub mod report;
pub mod stats;
pub mod trace;

/// Errors of the library parts (binaries use `anyhow`).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Other(String),
}
