//! The HTTP surface: routes, handlers, and the shared state they read.
mod chat;
mod coalesce;
mod listen;
mod models;
mod observe;
mod open;
mod passthrough;
mod ready;
mod responses;
mod router;
mod shards;
mod state;
mod trailers;
mod watch;
mod watched;

pub use chat::chat_completions;
pub use listen::{serve, ClientLimits};
pub use ready::Readiness;
pub use router::{admin_router, router};
pub use shards::{thread_count, Shards};
pub use state::AppState;
pub use watch::{ConnectionWatch, Expired, RequestWatch};
