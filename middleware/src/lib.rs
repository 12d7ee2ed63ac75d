//! selfbrake: a proxy that stops reasoning models from overthinking.
//!
//! It sits in front of any OpenAI-compatible backend, streams the model's
//! reasoning through a policy [`Monitor`](selfbrake_policies::Monitor), cuts
//! the generation when the policy brakes, has the model answer from the
//! reasoning it kept, and rewrites the response so the client sees one
//! ordinary completion.
#![forbid(unsafe_code)]

pub mod brake;
pub mod config;
pub mod error;
pub mod gateway;
pub mod metrics;
pub mod pipeline;
pub mod reload;
pub mod rewrite;
pub mod server;
pub mod session;
pub mod telemetry;

pub use brake::BrakeLayer;
pub use error::ProxyError;
pub use gateway::Gateway;
pub use server::{admin_router, router, AppState};
