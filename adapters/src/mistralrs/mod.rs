//! The `mistralrs` adapter: a GGUF model run in-process by the embedded
//! mistral.rs engine (cargo feature `embedded`).
//!
//! - The engine is loaded once ([`MistralrsBackend::load`]) and shared by
//!   every request; mistral.rs schedules and batches concurrent sequences.
//! - `stream` sends a chat request; reasoning arrives from the engine's own
//!   reasoning parser (`reasoning_content`, for templates with a reasoning
//!   format: Qwen3, DeepSeek-R1 distills, SmolLM3) or inline `<think>` tags.
//!   With `think_prefill` the prompt is the chat template with the assistant
//!   turn opened by `<think>\n`, sent as a raw completion, so that any model
//!   reasons inside a block the monitor can watch.
//! - `continue_answer` applies the chat template, opens the assistant turn
//!   with `<think>\n{kept reasoning}\n</think>\n\n` (without the `<think>`
//!   where the template opened it) and runs a raw completion from there;
//!   an echo of that prefix in the output is removed (`crate::echo`).
//! - Dropping the event stream cancels the engine's sequence at its next
//!   token (see `bridge`). Usage comes from the engine's token counts.
//! - A prompt longer than the model's context is `Status { 400 }`.

mod config;

pub use config::MistralrsConfig;

#[cfg(feature = "embedded")]
mod backend;
#[cfg(feature = "embedded")]
mod bridge;
#[cfg(feature = "embedded")]
mod counter;
#[cfg(feature = "embedded")]
mod decode;
#[cfg(feature = "embedded")]
mod engines;
#[cfg(feature = "embedded")]
mod load;
#[cfg(feature = "embedded")]
mod probe;
#[cfg(feature = "embedded")]
mod prompt;
#[cfg(feature = "embedded")]
mod request;

#[cfg(feature = "embedded")]
pub use backend::MistralrsBackend;
#[cfg(feature = "embedded")]
pub use engines::{generated_tokens, retain, shared_backend};
