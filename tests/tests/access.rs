//! Who may ask what: keys, the metrics endpoint, tenants' request rules,
//! what an upstream error tells a client, and the config checks behind
//! them; each proven over real HTTP against the real connection loop.
mod common;

use common::acme::{as_acme, start, toml};
use common::{client, request};
use selfbrake::admin_router;
use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake_tests::{Misbehaviour, MockConfig, MockUpstream};
use serde_json::Value;

#[tokio::test]
async fn a_key_that_matches_nothing_is_401_even_with_an_anonymous_tenant() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let (addr, _) = start(&toml(&mock.base_url(), "", "anonymous = true")).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let revoked = client()
        .post(&url)
        .bearer_auth("sk-revoked")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    let anonymous = client()
        .post(&url)
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        200,
        "no key at all is the anonymous tenant"
    );
    assert_eq!(
        mock.chat_bodies().len(),
        1,
        "the revoked key reached no upstream"
    );
}

#[tokio::test]
async fn metrics_are_not_open_on_the_main_listener() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let (addr, state) = start(&toml(&mock.base_url(), "", "")).await;
    let open = client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 404);

    let (addr, _) = start(&toml(&mock.base_url(), "metrics_token = \"m-secret\"", "")).await;
    let url = format!("http://{addr}/metrics");
    assert_eq!(client().get(&url).send().await.unwrap().status(), 401);
    let wrong = client().get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client()
        .get(&url)
        .bearer_auth("m-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("# TYPE selfbrake_"));

    // The admin listener serves them without credentials.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, admin_router(state)).await.unwrap() });
    let scraped = client()
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
}

#[tokio::test]
async fn tenant_request_rules_hold_upstream() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let tenant = r#"models = ["mock-model"]
max_tokens_cap = 64
cache_salt = "acme-salt""#;
    let (addr, _) = start(&toml(&mock.base_url(), "", tenant)).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let post = |body: Value| {
        client()
            .post(&url)
            .bearer_auth("sk-acme")
            .json(&body)
            .send()
    };

    let mut forbidden = request(false);
    forbidden["priority"] = (-100).into();
    assert_eq!(post(forbidden).await.unwrap().status(), 400);
    let mut other_model = request(false);
    other_model["model"] = "someone-elses-lora".into();
    assert_eq!(post(other_model).await.unwrap().status(), 403);
    let mut big = request(false);
    big["max_tokens"] = 100_000.into();
    assert_eq!(post(big).await.unwrap().status(), 200);
    let bodies = mock.chat_bodies();
    assert_eq!(bodies.len(), 1, "refused requests reach no upstream");
    assert_eq!(bodies[0]["max_tokens"], 64);
    assert_eq!(bodies[0]["cache_salt"], "acme-salt");
}

#[tokio::test]
async fn upstream_errors_do_not_leak_internals() {
    let mock = MockUpstream::start(MockConfig {
        fault: Misbehaviour::Status {
            status: 500,
            body: "Traceback: /opt/vllm/secret/path.py line 3".into(),
            content_type: "text/plain".into(),
        },
        ..MockConfig::default()
    })
    .await;
    let (addr, _) = start(&toml(&mock.base_url(), "", "")).await;
    let url = format!("http://{addr}/v1/chat/completions");
    let response = as_acme(&url, &request(false)).await;
    assert_eq!(response.status(), 502);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("Traceback") && !message.contains("/opt"),
        "{message}"
    );
    assert!(
        message.contains(&id),
        "the message names the request id: {message}"
    );

    // A backend that refuses our own key is not the client's 401.
    mock.set_fault(Misbehaviour::status(401, "bad key"));
    let response = as_acme(&url, &request(false)).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_auth");

    // An unreachable backend whose URL carries credentials never shows them.
    let (addr, _) = start(&toml("http://user:hunter2@127.0.0.1:9/v1", "", "")).await;
    let response = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth("sk-acme")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("127.0.0.1:9"),
        "{text}"
    );
}

#[test]
fn anonymous_access_on_a_public_address_must_be_asked_for() {
    let base = "[backends.default]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n";
    let public =
        Config::from_toml_str(&format!("[server]\nlisten = \"0.0.0.0:8787\"\n{base}")).unwrap();
    let issues = public.validate();
    assert!(
        issues.iter().any(|i| i.path == "server.allow_anonymous"),
        "{issues:?}"
    );
    let allowed = Config::from_toml_str(&format!(
        "[server]\nlisten = \"0.0.0.0:8787\"\nallow_anonymous = true\n{base}"
    ))
    .unwrap();
    assert!(allowed.validate().is_empty(), "{:?}", allowed.validate());
    let loopback = Config::from_toml_str(base).unwrap();
    assert!(loopback.validate().is_empty());
}

#[test]
fn the_same_key_in_either_hex_case_is_one_key() {
    let key = hash_key("sk-shared");
    let upper = format!("sha256:{}", key["sha256:".len()..].to_uppercase());
    let cfg = Config::from_toml_str(&format!(
        r#"
[backends.default]
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
[tenants.a]
api_keys = ["{key}"]
backend = "default"
policy = "default"
[tenants.b]
api_keys = ["{upper}"]
backend = "default"
policy = "default"
"#
    ))
    .unwrap();
    let issues = cfg.validate();
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("also given to tenant")),
        "{issues:?}"
    );
}
