use axum::routing::post;
use axum::Router;
use tower::Layer;

use super::BrakeService;
use crate::pipeline::request_layers;
use crate::server::{chat_completions, AppState};

/// A tower layer that answers one chat-completions path with the braking
/// proxy and passes every other request to the wrapped service. The braked
/// path goes through the same request pipeline as the standalone server
/// (header limit, request id, trace span, authentication, limits).
#[derive(Clone)]
pub struct BrakeLayer {
    state: AppState,
    path: String,
}

impl BrakeLayer {
    /// Brakes `POST /v1/chat/completions`.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            path: "/v1/chat/completions".into(),
        }
    }

    /// Brakes `POST {path}` instead.
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.to_string();
        self
    }
}

impl<S> Layer<S> for BrakeLayer {
    type Service = BrakeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let routes = Router::new().route(&self.path, post(chat_completions));
        BrakeService::new(
            inner,
            request_layers(routes, self.state.clone()),
            self.path.clone(),
        )
    }
}
