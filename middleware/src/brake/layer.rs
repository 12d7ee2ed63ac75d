use axum::routing::post;
use axum::Router;
use tower::Layer;

use super::BrakeService;
use crate::server::{chat_completions, AppState};

/// A tower layer that answers one chat-completions path with the braking
/// proxy and passes every other request to the wrapped service.
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
        let routes = Router::new()
            .route(&self.path, post(chat_completions))
            .with_state(self.state.clone());
        BrakeService::new(inner, routes, self.path.clone())
    }
}
