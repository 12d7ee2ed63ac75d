use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// `true` / `false`: whether the request was braked.
pub const BRAKED: HeaderName = HeaderName::from_static("x-selfbrake-braked");
/// The rule that braked (absent when none did).
pub const RULE: HeaderName = HeaderName::from_static("x-selfbrake-rule");
/// Reasoning tokens the client was sent.
pub const REASONING_TOKENS: HeaderName = HeaderName::from_static("x-selfbrake-reasoning-tokens");
/// The policy the request ran under (known before the first byte, so
/// streaming responses carry it too).
pub const POLICY: HeaderName = HeaderName::from_static("x-selfbrake-policy");

/// The braking outcome as response headers, so that a gateway in front can
/// log braking without parsing bodies. From a completion's `selfbrake`
/// object; a streaming response has sent its headers before the outcome is
/// known and carries [`POLICY`], the rest as trailers where the client
/// accepts them (`server::trailers`).
pub fn outcome_headers(report: &Value, headers: &mut HeaderMap) {
    if let Some(braked) = report.get("braked").and_then(Value::as_bool) {
        headers.insert(
            BRAKED,
            HeaderValue::from_static(if braked { "true" } else { "false" }),
        );
    }
    if let Some(rule) = report
        .get("rule")
        .and_then(Value::as_str)
        .and_then(|r| HeaderValue::from_str(r).ok())
    {
        headers.insert(RULE, rule);
    }
    if let Some(tokens) = report.get("reasoning_tokens").and_then(Value::as_u64) {
        headers.insert(REASONING_TOKENS, HeaderValue::from(tokens));
    }
    if let Some(policy) = report
        .get("policy")
        .and_then(Value::as_str)
        .and_then(|p| HeaderValue::from_str(p).ok())
    {
        headers.insert(POLICY, policy);
    }
}
