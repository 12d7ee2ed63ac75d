use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::{AdapterError, Backend, Continuation, ContinuationMode, EventStream, Propagation};

/// Retries a backend call that failed before its response started.
///
/// A `Backend` call returns once the upstream's response headers arrived, so
/// a failure here has sent the client nothing: retrying is safe. Failures
/// inside the stream are never retried (the client has seen part of it).
pub struct Retry {
    inner: Arc<dyn Backend>,
    retries: u32,
    backoff: Duration,
}

impl Retry {
    /// Up to `retries` more attempts, waiting `backoff`, then twice that, ...
    pub fn new(inner: Arc<dyn Backend>, retries: u32, backoff: Duration) -> Self {
        Self {
            inner,
            retries,
            backoff,
        }
    }

    /// Refused connections, timeouts before the headers, and the statuses a
    /// busy or restarting engine answers with.
    fn retryable(error: &AdapterError) -> bool {
        match error {
            AdapterError::Connect(_) | AdapterError::Timeout(_) => true,
            AdapterError::Status { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    async fn attempt<F, Fut>(&self, mut call: F) -> Result<EventStream, AdapterError>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<EventStream, AdapterError>> + Send,
    {
        let mut wait = self.backoff;
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if attempt < self.retries && Self::retryable(&e) => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "upstream failed before responding; retrying");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                result => return result,
            }
        }
    }
}

#[async_trait]
impl Backend for Retry {
    async fn stream(&self, request: Map<String, Value>) -> Result<EventStream, AdapterError> {
        self.attempt(|| self.inner.stream(request.clone())).await
    }

    async fn continue_answer(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
    ) -> Result<EventStream, AdapterError> {
        self.attempt(|| {
            self.inner
                .continue_answer(request.clone(), continuation.clone())
        })
        .await
    }

    async fn stream_with(
        &self,
        request: Map<String, Value>,
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        self.attempt(|| self.inner.stream_with(request.clone(), propagation))
            .await
    }

    async fn continue_answer_with(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        self.attempt(|| {
            self.inner
                .continue_answer_with(request.clone(), continuation.clone(), propagation)
        })
        .await
    }

    async fn forward(
        &self,
        request: crate::Forward,
    ) -> Result<http::Response<reqwest::Body>, AdapterError> {
        // A streamed body cannot be sent twice: no retries here.
        self.inner.forward(request).await
    }

    fn continuation_mode(&self) -> ContinuationMode {
        self.inner.continuation_mode()
    }

    fn prefix_format(&self) -> crate::PrefixFormat {
        self.inner.prefix_format()
    }

    /// Probes are not retried: a failed one is only a missing hint.
    fn prober(&self, request: &Map<String, Value>) -> Option<Arc<dyn crate::Prober>> {
        self.inner.prober(request)
    }

    async fn models(&self) -> Result<Value, AdapterError> {
        self.inner.models().await
    }
}
