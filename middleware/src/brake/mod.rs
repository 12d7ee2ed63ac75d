//! Mount selfbrake's braking on a route of your own axum / tower service.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use selfbrake::{config::Config, AppState, BrakeLayer, Gateway};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load("selfbrake.toml".as_ref())?;
//! let state = AppState::new(Gateway::build(&config)?);
//! let app = Router::new()
//!     .route("/status", get(|| async { "ok" }))
//!     // POST /llm/chat/completions is braked; everything else reaches the app.
//!     .layer(BrakeLayer::new(state).path("/llm/chat/completions"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
mod layer;
mod service;

pub use layer::BrakeLayer;
pub use service::BrakeService;
