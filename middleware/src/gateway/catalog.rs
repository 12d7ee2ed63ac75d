//! `GET /v1/models` for one tenant: the union of what its backends serve,
//! under the names clients use, limited to the models it may ask for.
use std::collections::HashSet;

use selfbrake_adapters::AdapterError;
use serde_json::{json, Value};

use super::Tenant;

impl Tenant {
    /// The model list this tenant sees, in OpenAI's shape. A backend that
    /// lists its models is described by that list (each entry copied from
    /// the backend's own where it has one, renamed for an alias), so it
    /// still appears while its `/models` fails; a backend that takes any
    /// model contributes what it reports. Fails only when nothing could be
    /// listed and some backend failed.
    pub async fn catalog(&self) -> Result<Value, AdapterError> {
        let mut data = Vec::new();
        let mut seen = HashSet::new();
        let mut failure = None;
        for upstream in self.upstreams() {
            let reported = match upstream.models.get().await {
                Ok(list) => entries(&list),
                Err(e) => {
                    tracing::warn!(backend = %upstream.name, error = %e, "backend's model list unavailable");
                    failure = Some(e);
                    Vec::new()
                }
            };
            let listed: Vec<Value> = if upstream.serves_any() {
                reported
            } else {
                upstream
                    .served
                    .iter()
                    .map(|served| {
                        let mut entry = reported
                            .iter()
                            .find(|e| e["id"] == served.upstream())
                            .cloned()
                            .unwrap_or_else(|| json!({"object": "model", "owned_by": "selfbrake"}));
                        entry["id"] = json!(served.name());
                        entry
                    })
                    .collect()
            };
            for entry in listed {
                let Some(id) = entry["id"].as_str().map(str::to_string) else {
                    continue;
                };
                if self.may_use(&id) && seen.insert(id) {
                    data.push(entry);
                }
            }
        }
        match failure {
            Some(e) if data.is_empty() => Err(e),
            _ => Ok(json!({"object": "list", "data": data})),
        }
    }

    /// Whether the tenant's `models` allows `model` (empty: any).
    pub fn may_use(&self, model: &str) -> bool {
        self.config.models.is_empty() || self.config.models.iter().any(|m| m == model)
    }
}

fn entries(list: &Value) -> Vec<Value> {
    list.get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}
