//! `[limits]` as operators write it.
use selfbrake_limits::{Fault, Limiter, LimitsConfig, OnStoreError, StoreKind};

fn parse(toml_text: &str) -> Result<LimitsConfig, toml::de::Error> {
    toml::from_str(toml_text)
}

#[test]
fn defaults_to_memory_and_open() {
    let config = parse("").unwrap();
    assert_eq!(config, LimitsConfig::default());
    assert_eq!(config.store, StoreKind::Memory);
    assert_eq!(config.on_store_error, OnStoreError::Open);
    assert_eq!(config.lease_ttl_ms, 30_000);
    assert_eq!(config.key_prefix, "selfbrake");
}

#[test]
fn a_redis_store_parses() {
    let config = parse(
        r#"
store = "redis"
redis_url = "redis://10.0.0.5:6379/2"
on_store_error = "closed"
lease_ttl_ms = 10000
key_prefix = "prod"
store_timeout_ms = 100
"#,
    )
    .unwrap();
    assert_eq!(config.store, StoreKind::Redis);
    assert_eq!(config.on_store_error, OnStoreError::Closed);
    config.validate().unwrap();
    // Building does not connect: a replica starts while Redis is away.
    Limiter::new(&config).unwrap();
}

#[test]
fn unknown_keys_and_values_are_rejected() {
    assert!(parse("stor = \"redis\"").is_err());
    assert!(parse("store = \"etcd\"").is_err());
    assert!(parse("on_store_error = \"maybe\"").is_err());
}

#[test]
fn invalid_combinations_are_config_faults() {
    for text in [
        "store = \"redis\"",
        "store = \"redis\"\nredis_url = \"http://not-redis\"",
        "lease_ttl_ms = 10",
        "store_timeout_ms = 0",
        "key_prefix = \"\"",
    ] {
        let error = Limiter::new(&parse(text).unwrap())
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"));
        assert_eq!(error.fault(), Fault::Config, "{text}");
    }
}

#[test]
fn a_bad_url_is_reported_without_its_password() {
    let config =
        parse("store = \"redis\"\nredis_url = \"redis://:hunter2@host:notaport\"").unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("redis_url"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}
