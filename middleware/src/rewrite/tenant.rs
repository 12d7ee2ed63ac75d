use serde_json::{Map, Value};

use crate::config::TenantConfig;
use crate::error::ProxyError;

/// Applies the tenant's request rules to a client body before it goes
/// upstream: keys it may not send, models it may not use, its token cap,
/// and its prefix-cache salt. Client keys otherwise pass untouched.
pub fn apply_tenant_rules(
    body: &mut Map<String, Value>,
    tenant: &TenantConfig,
) -> Result<(), ProxyError> {
    check_tenant_keys(body, tenant)?;
    if let Some(cap) = tenant.max_tokens_cap {
        let mut asked = false;
        for key in ["max_tokens", "max_completion_tokens"] {
            if let Some(n) = body.get(key).and_then(Value::as_u64) {
                asked = true;
                body.insert(key.into(), n.min(cap).into());
            }
        }
        if !asked {
            body.insert("max_tokens".into(), cap.into());
        }
    }
    if let Some(salt) = &tenant.cache_salt {
        body.insert("cache_salt".into(), Value::String(salt.clone()));
    }
    Ok(())
}

/// The rules every JSON request of the tenant is held to, passthrough
/// routes included: keys it may not send (400) and models it may not use
/// (403).
pub fn check_tenant_keys(
    body: &Map<String, Value>,
    tenant: &TenantConfig,
) -> Result<(), ProxyError> {
    if let Some(key) = tenant
        .forbidden_fields
        .iter()
        .find(|k| body.contains_key(k.as_str()))
    {
        return Err(ProxyError::bad_request(
            format!("`{key}` may not be set by clients of this server"),
            Some(key),
        ));
    }
    if !tenant.models.is_empty() {
        let model = body.get("model").and_then(Value::as_str).unwrap_or("");
        if !tenant.models.iter().any(|m| m == model) {
            return Err(ProxyError::Forbidden(format!(
                "model `{model}` is not allowed for this API key"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn tenant() -> TenantConfig {
        TenantConfig::anonymous::<()>("b".into(), &BTreeMap::new())
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn server_internal_keys_are_refused_by_default() {
        let mut b = body(json!({"model": "m", "priority": -100}));
        let err = apply_tenant_rules(&mut b, &tenant()).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("priority"), "{err}");
    }

    #[test]
    fn only_listed_models_pass() {
        let t = TenantConfig {
            models: vec!["r1".into()],
            ..tenant()
        };
        assert!(apply_tenant_rules(&mut body(json!({"model": "r1"})), &t).is_ok());
        let err = apply_tenant_rules(&mut body(json!({"model": "other-lora"})), &t).unwrap_err();
        assert_eq!(err.status(), 403);
    }

    #[test]
    fn the_cap_lowers_asks_and_fills_in_a_missing_one() {
        let t = TenantConfig {
            max_tokens_cap: Some(100),
            ..tenant()
        };
        let mut b = body(json!({"max_completion_tokens": 5000}));
        apply_tenant_rules(&mut b, &t).unwrap();
        assert_eq!(b["max_completion_tokens"], 100);
        let mut b = body(json!({"max_tokens": 7}));
        apply_tenant_rules(&mut b, &t).unwrap();
        assert_eq!(b["max_tokens"], 7);
        let mut b = body(json!({}));
        apply_tenant_rules(&mut b, &t).unwrap();
        assert_eq!(b["max_tokens"], 100);
    }

    #[test]
    fn the_salt_is_the_tenants_whatever_the_client_says() {
        let t = TenantConfig {
            cache_salt: Some("acme".into()),
            forbidden_fields: vec![],
            ..tenant()
        };
        let mut b = body(json!({"cache_salt": "someone-else"}));
        apply_tenant_rules(&mut b, &t).unwrap();
        assert_eq!(b["cache_salt"], "acme");
    }
}
