//! Request and response rewriting: what the client sends in, what it sees out.
mod complete;
mod encoder;
mod identity;
mod request;
mod tenant;

pub use complete::CompletionBuilder;
pub use encoder::SseEncoder;
pub use request::ChatRequest;
pub use tenant::apply_tenant_rules;
