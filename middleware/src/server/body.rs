use axum::body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::ProxyError;

/// Reads a request body, refusing more than `limit` bytes without buffering them.
pub async fn read_limited(body: Body, limit: usize) -> Result<bytes::Bytes, ProxyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ProxyError::BodyTooLarge { limit })
        }
        Err(e) => Err(ProxyError::bad_request(
            format!("could not read the request body: {e}"),
            None,
        )),
    }
}
