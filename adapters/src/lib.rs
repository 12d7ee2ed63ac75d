//! Backends behind one trait.
//!
//! Every backend turns a chat request into a stream of [`BackendEvent`]s in
//! which reasoning is always a `Reasoning` event, however the engine sent it
//! (`delta.reasoning`, `delta.reasoning_content`, or `<think>` inline), and
//! can run a continuation: answer from an assistant prefix that holds the
//! reasoning kept up to a brake.
#![forbid(unsafe_code)]

mod backend;
pub mod echo;
mod error;
mod event;
#[cfg(feature = "embedded")]
pub mod mistralrs;
pub mod openai;
mod retry;

pub use backend::{Backend, Continuation, ContinuationMode, EventStream, PrefixFormat};
pub use error::{AdapterError, Fault};
pub use event::{BackendEvent, Usage};
pub use retry::Retry;

/// Defaults of the embedded engine's settings, defined whether or not the
/// `embedded` feature is on, so that configs parsed without it agree.
pub mod embedded_defaults {
    /// Sequences the engine runs at once.
    pub const MAX_NUM_SEQS: usize = 32;
    /// A stream not read for this long is cancelled.
    pub const STALL_TIMEOUT_MS: u64 = 30_000;
}
