use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use selfbrake_adapters::{AdapterError, Fault};
use serde_json::json;
use thiserror::Error;

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
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("request headers are larger than the limit of {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// No backend of the tenant serves the model the request names.
    #[error("The model `{0}` does not exist or you do not have access to it.")]
    ModelNotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A tenant limit was reached; retry after the given time.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The shared limits store could not answer and `on_store_error = "closed"`.
    #[error("the limits store is unavailable; retry shortly")]
    LimitsUnavailable,
    /// Every stream slot of the server is taken (`server.max_concurrent_streams`).
    #[error("the server is at capacity; retry shortly")]
    Overloaded { retry_after: std::time::Duration },
    /// The upstream failed, timed out, or refused the request.
    #[error(transparent)]
    Upstream(#[from] AdapterError),
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
            ProxyError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ProxyError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::Unauthorized => StatusCode::UNAUTHORIZED,
            ProxyError::Forbidden(_) => StatusCode::FORBIDDEN,
            ProxyError::NotFound(_) | ProxyError::ModelNotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::Overloaded { .. } | ProxyError::LimitsUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ProxyError::Upstream(e) if upstream_auth(e) => StatusCode::BAD_GATEWAY,
            ProxyError::Upstream(e) => match (e.fault(), e) {
                (Fault::Client, AdapterError::Status { status, .. }) => {
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
                }
                (Fault::Timeout, _) => StatusCode::GATEWAY_TIMEOUT,
                (Fault::Internal, _) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_GATEWAY,
            },
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OpenAI `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProxyError::BadRequest { .. }
            | ProxyError::RequestTimeout
            | ProxyError::BodyTooLarge { .. }
            | ProxyError::HeadersTooLarge { .. } => "invalid_request_error",
            ProxyError::Unauthorized => "authentication_error",
            ProxyError::Forbidden(_) => "permission_error",
            ProxyError::NotFound(_)
            | ProxyError::ModelNotFound(_)
            | ProxyError::MethodNotAllowed => "invalid_request_error",
            ProxyError::RateLimited { .. } => "rate_limit_error",
            ProxyError::Overloaded { .. } | ProxyError::LimitsUnavailable => "server_error",
            ProxyError::Upstream(e) if upstream_auth(e) => "upstream_error",
            ProxyError::Upstream(e) => match e.fault() {
                Fault::Client => "invalid_request_error",
                Fault::Timeout => "upstream_timeout",
                _ => "upstream_error",
            },
            ProxyError::Internal(_) => "server_error",
        }
    }

    /// The OpenAI `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::BadRequest { .. } => "invalid_request",
            ProxyError::BodyTooLarge { .. } => "body_too_large",
            ProxyError::RequestTimeout => "request_timeout",
            ProxyError::HeadersTooLarge { .. } => "headers_too_large",
            ProxyError::Unauthorized => "invalid_api_key",
            ProxyError::Forbidden(_) => "forbidden",
            ProxyError::NotFound(_) => "not_found",
            ProxyError::ModelNotFound(_) => "model_not_found",
            ProxyError::MethodNotAllowed => "method_not_allowed",
            ProxyError::RateLimited { .. } => "rate_limit_exceeded",
            ProxyError::Overloaded { .. } => "overloaded",
            ProxyError::LimitsUnavailable => "limits_unavailable",
            ProxyError::Upstream(e) if upstream_auth(e) => "upstream_auth",
            ProxyError::Upstream(e) => match e {
                AdapterError::Connect(_) => "upstream_unreachable",
                AdapterError::Timeout(_) => "upstream_timeout",
                AdapterError::Status { .. } => "upstream_status",
                AdapterError::Protocol(_) => "upstream_protocol",
                AdapterError::Closed(_) => "upstream_closed",
                AdapterError::Config(_)
                | AdapterError::Unsupported(_)
                | AdapterError::Internal(_) => "internal_error",
            },
            ProxyError::Internal(_) => "internal_error",
        }
    }

    /// A message for the client. An upstream's own message is kept only
    /// for its 4xx answers about the request itself; everything else about
    /// the upstream (its address, its 5xx text, what the connection said)
    /// goes to the log, and the client gets a short message with the
    /// request id to quote.
    pub fn client_message(&self) -> String {
        let ProxyError::Upstream(e) = self else {
            return self.to_string();
        };
        let short = match e {
            e if upstream_auth(e) => {
                "the backend refused selfbrake's credentials (check the backend's api_key_env)"
                    .to_string()
            }
            AdapterError::Status { status, body } if e.fault() == Fault::Client => {
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
            AdapterError::Status { status, .. } => format!("upstream returned HTTP {status}"),
            AdapterError::Connect(_) => "upstream unreachable".into(),
            AdapterError::Timeout(_) => "upstream timed out".into(),
            AdapterError::Protocol(_) => "upstream sent an invalid response".into(),
            AdapterError::Closed(_) => "upstream closed the stream early".into(),
            AdapterError::Config(_) | AdapterError::Unsupported(_) | AdapterError::Internal(_) => {
                "internal error".into()
            }
        };
        match crate::pipeline::current_request_id() {
            Some(id) => format!("{short} (request {id})"),
            None => short,
        }
    }

    /// `{"error": {"message", "type", "code", "param"}}`
    pub fn body(&self) -> serde_json::Value {
        let param = match self {
            ProxyError::BadRequest { param, .. } => param.clone(),
            ProxyError::ModelNotFound(_) => Some("model".into()),
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
        if let ProxyError::RateLimited { retry_after, .. }
        | ProxyError::Overloaded { retry_after } = &self
        {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

/// The backend refused our own credentials: not the client's 401.
fn upstream_auth(e: &AdapterError) -> bool {
    matches!(
        e,
        AdapterError::Status {
            status: 401 | 403,
            ..
        }
    )
}

impl From<selfbrake_limits::LimitError> for ProxyError {
    fn from(e: selfbrake_limits::LimitError) -> Self {
        use selfbrake_limits::LimitError;
        match e {
            LimitError::RateLimited { retry_after, .. } => ProxyError::RateLimited {
                message: e.to_string(),
                retry_after: retry_after.max(std::time::Duration::from_secs(1)),
            },
            LimitError::TooManyConcurrent { .. } => ProxyError::RateLimited {
                message: e.to_string(),
                retry_after: std::time::Duration::from_secs(1),
            },
            LimitError::StoreUnavailable => ProxyError::LimitsUnavailable,
            LimitError::InvalidConfig(m) => ProxyError::Internal(m),
        }
    }
}
