//! Backends behind one trait.
//!
//! Every backend turns a chat request into a stream of [`BackendEvent`]s in
//! which reasoning is always a `Reasoning` event, however the engine sent it
//! (`delta.reasoning`, `delta.reasoning_content`, or `<think>` inline), and
//! can run a continuation: answer from an assistant prefix that holds the
//! reasoning kept up to a brake.
#![forbid(unsafe_code)]

mod backend;
mod config;
pub mod echo;
mod error;
mod event;
pub mod format;
pub mod forward;
pub mod mistralrs;
pub mod openai;
pub mod probe;
mod propagation;
mod retry;
mod served;

pub use backend::{Backend, Continuation, ContinuationMode, EventStream};
pub use config::BackendConfig;
pub use error::{AdapterError, Fault};
pub use event::{BackendEvent, Usage};
pub use format::PrefixFormat;
pub use forward::Forward;
pub use probe::{ProbeCall, ProbeReply, ProbeToken, Prober};
pub use propagation::{Propagation, PROPAGATED_HEADERS};
pub use retry::Retry;
pub use served::{ModelAlias, ServedModel};
