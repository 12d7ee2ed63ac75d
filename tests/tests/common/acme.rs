//! A selfbrake behind its own connection loop (`selfbrake::server::serve`),
//! with one tenant, `acme` (key `sk-acme`), for the tests of what a
//! security and reliability review asked for.
use std::net::SocketAddr;

use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake::server::{serve, ClientLimits};
use selfbrake::{router, AppState, Gateway};
use serde_json::Value;

use super::client;

/// selfbrake behind its own connection loop; returns its address and state.
pub async fn start(toml: &str) -> (SocketAddr, AppState) {
    let config = Config::from_toml_str(toml).expect("config parses");
    let state = AppState::new(Gateway::build(&config).expect("config is valid"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state.clone());
    let limits = ClientLimits::from(&config.server);
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    (addr, state)
}

/// A chat request with tenant acme's key.
pub async fn as_acme(url: &str, body: &Value) -> reqwest::Response {
    client()
        .post(url)
        .bearer_auth("sk-acme")
        .json(body)
        .send()
        .await
        .unwrap()
}

pub fn toml(base_url: &str, server: &str, tenant: &str) -> String {
    format!(
        r#"
[server]
{server}

[backends.default]
kind = "openai"
base_url = "{base_url}"

[policies.test]
rules = [{{ kind = "budget", max_reasoning_tokens = 1000000 }}]

[tenants.acme]
api_keys = ["{key}"]
backend = "default"
policy = "test"
{tenant}
"#,
        key = hash_key("sk-acme")
    )
}
