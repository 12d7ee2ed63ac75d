use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::Frame;
use pin_project_lite::pin_project;
use selfbrake_adapters::{AdapterError, Forward};

use crate::error::ProxyError;
use crate::pipeline::{Admitted, RequestContext};

/// Every route selfbrake does not brake (`/v1/completions`,
/// `/v1/embeddings`, `/v1/responses`, `/v1/messages`, `/tokenize`, …):
/// authenticated and admitted like a chat request, then passed to the
/// tenant's backend as it is, bodies streamed both ways. What the backend
/// answers (its 404 for a path it does not serve) is what the client gets.
pub async fn passthrough(ctx: RequestContext, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    tracing::debug!(tenant = %ctx.tenant.name, path = %parts.uri.path(), "passthrough");
    let forward = Forward {
        method: parts.method,
        path_and_query,
        headers: parts.headers,
        body: reqwest::Body::wrap_stream(body.into_data_stream()),
    };
    match ctx.tenant.backend.forward(forward).await {
        Ok(upstream) => {
            let (mut parts, body) = upstream.into_parts();
            for hop in [header::CONNECTION, header::TRANSFER_ENCODING] {
                parts.headers.remove(hop);
            }
            let body = Body::new(Held {
                inner: body,
                _admission: ctx.admission,
            });
            Response::from_parts(parts, body)
        }
        Err(AdapterError::Unsupported(_)) => ProxyError::NotFound(format!(
            "backend `{}` serves only chat completions and models",
            ctx.tenant.backend_name
        ))
        .into_response(),
        Err(e) => ProxyError::from(e).into_response(),
    }
}

pin_project! {
    /// The backend's body, holding the request's slots until it is done.
    struct Held {
        #[pin]
        inner: reqwest::Body,
        _admission: Admitted,
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
