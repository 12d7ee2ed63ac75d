use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::Frame;
use pin_project_lite::pin_project;
use selfbrake_adapters::{AdapterError, Forward};
use serde_json::Value;

use crate::error::ProxyError;
use crate::gateway::{fail_over, InFlight, Route};
use crate::pipeline::{read_body, Admitted, RequestContext};
use crate::rewrite::check_tenant_keys;

/// Every route selfbrake does not brake (`/v1/completions`,
/// `/v1/embeddings`, `/v1/responses`, `/v1/messages`, `/tokenize`, …):
/// authenticated and admitted like a chat request, then passed to one of
/// the tenant's backends as it is. What the backend answers (its 404 for a
/// path it does not serve) is what the client gets.
///
/// A JSON body is read first (within `server.max_body_bytes`), because its
/// `model` decides the backend: it is held to the tenant's forbidden keys
/// and models, an alias is renamed to the backend's model, and a backend
/// that cannot be reached is failed over. Other bodies (audio uploads)
/// stream through to the least busy backend; responses always stream.
pub async fn passthrough(ctx: RequestContext, request: Request) -> Response {
    match forward(&ctx, request).await {
        Ok((response, in_flight)) => {
            let (mut parts, body) = response.into_parts();
            for hop in [header::CONNECTION, header::TRANSFER_ENCODING] {
                parts.headers.remove(hop);
            }
            let body = Body::new(Held {
                inner: body,
                _admission: ctx.admission,
                _in_flight: in_flight,
                _span: tracing::Span::current(),
            });
            Response::from_parts(parts, body)
        }
        Err(e) => e.into_response(),
    }
}

async fn forward(
    ctx: &RequestContext,
    request: Request,
) -> Result<(http::Response<reqwest::Body>, InFlight), ProxyError> {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    tracing::debug!(tenant = %ctx.tenant.name, path = %parts.uri.path(), "passthrough");
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        // A streamed body can be sent once: the least busy backend, no failover.
        let route = ctx.tenant.routes(None)?.swap_remove(0);
        let in_flight = route.upstream.begin();
        let forward = Forward {
            method: parts.method,
            path_and_query,
            headers: parts.headers,
            body: reqwest::Body::wrap_stream(body.into_data_stream()),
        };
        let response = send(&route, forward).await?;
        return Ok((response, in_flight));
    }
    let server = &ctx.gateway.server;
    let bytes = tokio::time::timeout(
        Duration::from_millis(server.body_read_timeout_ms),
        read_body(&parts.headers, body, server.max_body_bytes),
    )
    .await
    .map_err(|_| ProxyError::RequestTimeout)??;
    let mut object = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Some(object),
        // Not ours to judge: the backend answers it.
        _ => None,
    };
    if let Some(object) = &object {
        check_tenant_keys(object, &ctx.tenant.config)?;
    }
    let model = object
        .as_ref()
        .and_then(|o| o.get("model"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let routes = ctx.tenant.routes(model.as_deref())?;
    fail_over(routes, |route| {
        let body = match (&mut object, &route.rename) {
            (Some(object), Some(_)) => {
                route.apply(object);
                serde_json::to_vec(object)
                    .map(bytes::Bytes::from)
                    .map_err(|e| ProxyError::Internal(format!("re-encoding the request: {e}")))
            }
            _ => Ok(bytes.clone()),
        };
        let forward = body.map(|body| Forward {
            method: parts.method.clone(),
            path_and_query: path_and_query.clone(),
            headers: parts.headers.clone(),
            body: reqwest::Body::from(body),
        });
        let route = route.clone();
        async move { send(&route, forward?).await }
    })
    .await
}

async fn send(
    route: &Route,
    forward: Forward,
) -> Result<http::Response<reqwest::Body>, ProxyError> {
    match route.upstream.backend.forward(forward).await {
        Ok(response) => Ok(response),
        Err(AdapterError::Unsupported(_)) => Err(ProxyError::NotFound(format!(
            "backend `{}` serves only chat completions and models",
            route.upstream.name
        ))),
        Err(e) => Err(e.into()),
    }
}

pin_project! {
    /// The backend's body, holding the request's slots and its trace span
    /// until it is done.
    struct Held {
        #[pin]
        inner: reqwest::Body,
        _admission: Admitted,
        _in_flight: InFlight,
        _span: tracing::Span,
    }
}

impl http_body::Body for Held {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
