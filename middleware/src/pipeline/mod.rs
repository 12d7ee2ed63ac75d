//! One per-request pipeline for every entry point: the standalone server
//! ([`router`](crate::router)) and [`BrakeLayer`](crate::BrakeLayer) both
//! wrap their routes in [`request_layers`] and build a [`RequestContext`]
//! in their handlers, so a request is limited, identified, traced,
//! authenticated and admitted the same way whichever way it came in.
//!
//! The steps, in order (pingora-style phases, each a small function):
//! 1. `request_layers`: header-size limit → request id → trace span;
//! 2. [`RequestContext`] (an axum extractor): authenticate the key → pick
//!    the policy → admit against the tenant's limits;
//! 3. the handler: read the body within its limit ([`read_body`]), parse,
//!    rewrite, and run the session.
//!
//! ```
//! use axum::{routing::post, Router};
//! use selfbrake::pipeline::{request_layers, RequestContext};
//! use selfbrake::AppState;
//!
//! async fn whoami(ctx: RequestContext) -> String {
//!     format!("{} under {}", ctx.tenant.name, ctx.policy.name)
//! }
//!
//! fn app(state: AppState) -> Router {
//!     request_layers(Router::new().route("/whoami", post(whoami)), state)
//! }
//! ```
mod body;
mod context;
mod layers;
mod request_id;
mod trace;

pub use body::read_body;
pub use context::{Admitted, RequestContext, POLICY_HEADER};
pub use layers::{request_layers, REQUEST_ID};
pub use request_id::current_request_id;
