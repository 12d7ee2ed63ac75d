//! The HTTP surface: routes, handlers, and the shared state they read.
mod body;
mod chat;
mod coalesce;
mod models;
mod observe;
mod router;
mod state;

pub use chat::chat_completions;
pub use router::router;
pub use state::AppState;
