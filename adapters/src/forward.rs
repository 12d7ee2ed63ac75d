//! Requests the proxy passes through unbraked (`/v1/completions`,
//! `/v1/embeddings`, `/tokenize`, …): the backend's own route, bodies
//! streamed both ways.
use http::{HeaderMap, Method};

/// A client request to pass to the backend as it is.
#[derive(Debug)]
pub struct Forward {
    pub method: Method,
    /// As the client sent it, e.g. `/v1/embeddings` or `/tokenize?x=1`.
    pub path_and_query: String,
    /// The client's headers; only [`FORWARDED_HEADERS`] go upstream.
    pub headers: HeaderMap,
    pub body: reqwest::Body,
}

/// Client headers that go upstream on a passthrough: what the body is and
/// what the client accepts, and the trace context. Credentials never do: the
/// backend gets its own key.
pub const FORWARDED_HEADERS: &[&str] = &[
    "content-type",
    "accept",
    "traceparent",
    "tracestate",
    "x-request-id",
    "anthropic-version",
];

/// The upstream URL for a client path, given the backend's `base_url`
/// (which usually ends in `/v1`): `/v1/...` paths go under the base, other
/// paths (vLLM's `/tokenize`, `/detokenize`) under the base's root.
///
/// ```
/// use selfbrake_adapters::forward::upstream_url;
///
/// assert_eq!(upstream_url("http://h:8000/v1", "/v1/embeddings"), "http://h:8000/v1/embeddings");
/// assert_eq!(upstream_url("http://h:8000/v1", "/tokenize"), "http://h:8000/tokenize");
/// assert_eq!(upstream_url("http://h:8000", "/v1/completions?x=1"), "http://h:8000/v1/completions?x=1");
/// ```
pub fn upstream_url(base: &str, path_and_query: &str) -> String {
    let base = base.trim_end_matches('/');
    match (base.strip_suffix("/v1"), path_and_query.strip_prefix("/v1")) {
        (Some(_), Some(rest)) if rest.starts_with('/') || rest.starts_with('?') => {
            format!("{base}{rest}")
        }
        (Some(root), _) => format!("{root}{path_and_query}"),
        (None, _) => format!("{base}{path_and_query}"),
    }
}
