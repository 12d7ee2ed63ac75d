//! HTTP helpers: sending with a header deadline, status checks, errors.

use std::time::Duration;

use crate::AdapterError;

/// Bytes of an upstream error body kept in `AdapterError::Status`.
pub const ERROR_BODY_LIMIT: usize = 8 * 1024;

pub(crate) fn is_json(resp: &reqwest::Response) -> bool {
    is_json_head(resp.headers())
}

pub(crate) fn is_json_head(headers: &reqwest::header::HeaderMap) -> bool {
    let ct = headers.get(reqwest::header::CONTENT_TYPE);
    ct.and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

pub(crate) async fn send(
    rb: reqwest::RequestBuilder,
    limit: Duration,
) -> Result<reqwest::Response, AdapterError> {
    match tokio::time::timeout(limit, rb.send()).await {
        Err(_) => Err(AdapterError::Timeout(format!(
            "no response headers within {limit:?}"
        ))),
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) if e.is_connect() => Err(AdapterError::Connect(error_text(&e))),
        Ok(Err(e)) if e.is_timeout() => Err(AdapterError::Timeout(error_text(&e))),
        Ok(Err(e)) if e.is_builder() => Err(AdapterError::Internal(error_text(&e))),
        Ok(Err(e)) => Err(AdapterError::Connect(error_text(&e))),
    }
}

/// Passes 2xx through; reads (at most [`ERROR_BODY_LIMIT`] bytes of) the
/// body of anything else into `Status`.
pub(crate) async fn check_status(
    mut resp: reqwest::Response,
    limit: Duration,
) -> Result<reqwest::Response, AdapterError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let mut body = Vec::new();
    let read = async {
        while body.len() < ERROR_BODY_LIMIT {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(limit, read).await;
    body.truncate(ERROR_BODY_LIMIT);
    let body = String::from_utf8_lossy(&body).into_owned();
    tracing::debug!(
        status = status.as_u16(),
        "upstream returned an error status"
    );
    Err(AdapterError::Status {
        status: status.as_u16(),
        body,
    })
}

/// A reqwest error with its source chain.
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Reads a whole JSON body (a non-streaming answer, a model list), never
/// more than `max` bytes: an upstream cannot make us allocate without bound.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
    idle: Duration,
    what: &str,
) -> Result<Vec<u8>, AdapterError> {
    let mut body = Vec::new();
    loop {
        let chunk = tokio::time::timeout(idle, resp.chunk())
            .await
            .map_err(|_| AdapterError::Timeout(format!("{what} not read within {idle:?}")))?
            .map_err(|e| AdapterError::Closed(error_text(&e)))?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > max {
            return Err(AdapterError::Protocol(format!(
                "{what} is larger than {max} bytes (max_response_bytes)"
            )));
        }
        body.extend_from_slice(&chunk);
    }
}
