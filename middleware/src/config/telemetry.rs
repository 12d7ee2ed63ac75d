use serde::Deserialize;

use super::ConfigIssue;

/// `[telemetry]`: OpenTelemetry traces over OTLP/HTTP. Off unless
/// `otlp_endpoint` is set. Read at start only (a reload keeps the exporter
/// it started with).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The collector's OTLP/HTTP base, e.g. `http://collector:4318`; spans
    /// go to `{otlp_endpoint}/v1/traces` as protobuf.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of every span.
    pub service_name: String,
    /// Fraction of new traces recorded, 0.0 to 1.0. A request whose client
    /// sent a `traceparent` follows the client's sampling decision instead.
    pub sample_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "selfbrake".into(),
            sample_ratio: 1.0,
        }
    }
}

impl TelemetryConfig {
    /// Whether spans are exported at all.
    pub fn enabled(&self) -> bool {
        self.otlp_endpoint.as_deref().is_some_and(|e| !e.is_empty())
    }

    /// Where the exporter POSTs its batches.
    pub fn traces_url(&self) -> Option<String> {
        let base = self.otlp_endpoint.as_deref().filter(|e| !e.is_empty())?;
        Some(format!("{}/v1/traces", base.trim_end_matches('/')))
    }

    pub(super) fn issues(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if let Some(endpoint) = self.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                issues.push(ConfigIssue::new(
                    "telemetry.otlp_endpoint",
                    "must start with http:// or https:// (OTLP over HTTP, port 4318 by default)",
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            issues.push(ConfigIssue::new(
                "telemetry.sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if self.service_name.trim().is_empty() {
            issues.push(ConfigIssue::new(
                "telemetry.service_name",
                "must not be empty",
            ));
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn off_by_default() {
        let config = Config::from_toml_str("").unwrap();
        assert!(!config.telemetry.enabled());
        assert_eq!(config.telemetry.service_name, "selfbrake");
    }

    #[test]
    fn endpoint_becomes_the_traces_url() {
        let toml = "[telemetry]\notlp_endpoint = \"http://collector:4318/\"\nsample_ratio = 0.25";
        let config = Config::from_toml_str(toml).unwrap();
        assert_eq!(
            config.telemetry.traces_url().as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(config.telemetry.sample_ratio, 0.25);
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused() {
        let toml = "[telemetry]\notlp_endpoint = \"collector:4317\"\nsample_ratio = 2.0";
        let issues = Config::from_toml_str(toml).unwrap().validate();
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"telemetry.otlp_endpoint"), "{issues:?}");
        assert!(paths.contains(&"telemetry.sample_ratio"), "{issues:?}");
        let unknown = Config::from_toml_str("[telemetry]\nendpoint = \"http://c:4318\"");
        assert!(unknown.unwrap_err().to_string().contains("endpoint"));
    }
}
