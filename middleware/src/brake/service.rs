use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Method, Request};
use axum::response::Response;
use axum::Router;
use futures::future::BoxFuture;
use tower::{Service, ServiceExt};

/// The service made by [`BrakeLayer`](super::BrakeLayer).
#[derive(Clone)]
pub struct BrakeService<S> {
    inner: S,
    routes: Router,
    path: Arc<str>,
}

impl<S> BrakeService<S> {
    pub(super) fn new(inner: S, routes: Router, path: String) -> Self {
        Self {
            inner,
            routes,
            path: path.into(),
        }
    }
}

impl<S> Service<Request<Body>> for BrakeService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if request.method() == Method::POST && request.uri().path() == &*self.path {
            let routes = self.routes.clone();
            return Box::pin(routes.oneshot(request));
        }
        // The inner service was driven to readiness; hand that one over and keep a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move { inner.call(request).await })
    }
}
