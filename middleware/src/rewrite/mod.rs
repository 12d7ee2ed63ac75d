//! Request and response rewriting: what the client sends in, what it sees out.
mod complete;
mod encoder;
pub mod headers;
mod identity;
mod request;
pub mod responses;
mod tenant;

pub use complete::CompletionBuilder;
pub use encoder::SseEncoder;
pub use headers::outcome_headers;
pub use request::{last_user_text, take_reasoning_budget, ChatRequest};
pub use tenant::{apply_tenant_rules, check_tenant_keys};
