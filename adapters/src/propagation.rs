//! What a chat request carries upstream besides its body: the W3C trace
//! context and the request id, so that the engine's logs and traces line up
//! with the proxy's and the client's.
use http::{HeaderMap, HeaderName, HeaderValue};

/// The client headers a chat request propagates upstream. Credentials and
/// everything else stay behind: the backend gets its own key.
pub const PROPAGATED_HEADERS: &[&str] = &["traceparent", "tracestate", "x-request-id"];

/// The headers one chat request sends to its backend, on the first call and
/// on the continuation alike. Built by the proxy per request; backends that
/// make no HTTP call (the embedded engine) ignore it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Propagation {
    headers: HeaderMap,
}

impl Propagation {
    /// The [`PROPAGATED_HEADERS`] of a client request, as they came.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use selfbrake_adapters::Propagation;
    ///
    /// let mut client = HeaderMap::new();
    /// client.insert("x-request-id", "r-1".parse().unwrap());
    /// client.insert("authorization", "Bearer secret".parse().unwrap());
    /// let p = Propagation::from_client(&client);
    /// assert_eq!(p.headers()["x-request-id"], "r-1");
    /// assert!(p.headers().get("authorization").is_none());
    /// ```
    pub fn from_client(client: &HeaderMap) -> Self {
        let mut headers = HeaderMap::new();
        for name in PROPAGATED_HEADERS {
            if let Some(value) = client.get(*name) {
                headers.insert(HeaderName::from_static(name), value.clone());
            }
        }
        Propagation { headers }
    }

    /// Replaces (or adds) one header: the proxy's own trace context takes
    /// the place of the client's when tracing is on.
    pub fn set(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}
