use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use selfbrake_adapters::{AdapterError, Fault};
use serde_json::json;
use thiserror::Error;

use crate::config::ConfigIssue;

/// Every failure of the proxy, classified by where the fault lies so that the
/// HTTP status follows from the variant.
#[derive(Debug, Error)]
pub enum ProxyError {
    /// The client sent an invalid request.
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<String>,
    },
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("request headers are larger than the limit of {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A tenant limit was reached; retry after the given time.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The upstream failed, timed out, or refused the request.
    #[error(transparent)]
    Upstream(#[from] AdapterError),
    /// The configuration is invalid.
    #[error("invalid config: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Config(Vec<ConfigIssue>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProxyError {
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        ProxyError::BadRequest {
            message: message.into(),
            param: param.map(str::to_string),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::Unauthorized => StatusCode::UNAUTHORIZED,
            ProxyError::Forbidden(_) => StatusCode::FORBIDDEN,
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::Upstream(e) => match (e.fault(), e) {
                (Fault::Client, AdapterError::Status { status, .. }) => {
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
                }
                (Fault::Timeout, _) => StatusCode::GATEWAY_TIMEOUT,
                (Fault::Internal, _) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_GATEWAY,
            },
            ProxyError::Config(_) | ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OpenAI `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProxyError::BadRequest { .. }
            | ProxyError::BodyTooLarge { .. }
            | ProxyError::HeadersTooLarge { .. } => "invalid_request_error",
            ProxyError::Unauthorized => "authentication_error",
            ProxyError::Forbidden(_) => "permission_error",
            ProxyError::NotFound(_) | ProxyError::MethodNotAllowed => "invalid_request_error",
            ProxyError::RateLimited { .. } => "rate_limit_error",
            ProxyError::Upstream(e) => match e.fault() {
                Fault::Client => "invalid_request_error",
                Fault::Timeout => "upstream_timeout",
                _ => "upstream_error",
            },
            ProxyError::Config(_) | ProxyError::Internal(_) => "server_error",
        }
    }

    /// The OpenAI `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::BadRequest { .. } => "invalid_request",
            ProxyError::BodyTooLarge { .. } => "body_too_large",
            ProxyError::HeadersTooLarge { .. } => "headers_too_large",
            ProxyError::Unauthorized => "invalid_api_key",
            ProxyError::Forbidden(_) => "forbidden",
            ProxyError::NotFound(_) => "not_found",
            ProxyError::MethodNotAllowed => "method_not_allowed",
            ProxyError::RateLimited { .. } => "rate_limit_exceeded",
            ProxyError::Upstream(e) => match e {
                AdapterError::Connect(_) => "upstream_unreachable",
                AdapterError::Timeout(_) => "upstream_timeout",
                AdapterError::Status { .. } => "upstream_status",
                AdapterError::Protocol(_) => "upstream_protocol",
                AdapterError::Closed(_) => "upstream_closed",
                AdapterError::Unsupported(_) | AdapterError::Internal(_) => "internal_error",
            },
            ProxyError::Config(_) | ProxyError::Internal(_) => "internal_error",
        }
    }

    /// A message for the client; an upstream's own OpenAI error message is kept.
    pub fn client_message(&self) -> String {
        if let ProxyError::Upstream(AdapterError::Status { status, body }) = self {
            let upstream = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/message")
                        .or_else(|| v.pointer("/message"))
                        .and_then(|m| m.as_str().map(str::to_string))
                });
            return match upstream {
                Some(m) => format!("upstream returned HTTP {status}: {m}"),
                None => format!("upstream returned HTTP {status}"),
            };
        }
        self.to_string()
    }

    /// `{"error": {"message", "type", "code", "param"}}`
    pub fn body(&self) -> serde_json::Value {
        let param = match self {
            ProxyError::BadRequest { param, .. } => param.clone(),
            _ => None,
        };
        json!({"error": {
            "message": self.client_message(),
            "type": self.kind(),
            "code": self.code(),
            "param": param,
        }})
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, status = status.as_u16(), "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request refused");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if let ProxyError::RateLimited { retry_after, .. } = &self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}
