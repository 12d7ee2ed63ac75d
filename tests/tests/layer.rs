//! `BrakeLayer` mounted on someone else's axum app.
mod common;

use axum::routing::get;
use axum::Router;
use common::{client, config, json_of, request};
use selfbrake::config::Config;
use selfbrake::{AppState, BrakeLayer, Gateway};
use selfbrake_tests::{MockConfig, MockUpstream};

#[tokio::test]
async fn the_layer_brakes_its_route_and_passes_the_rest_to_the_app() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let cfg = Config::from_toml_str(&config(
        &mock.base_url(),
        "rules = [{ kind = \"budget\", max_reasoning_tokens = 3 }]",
    ))
    .unwrap();
    let state = AppState::new(Gateway::build(&cfg).unwrap());
    let app = Router::new()
        .route("/status", get(|| async { "app is fine" }))
        .layer(BrakeLayer::new(state).path("/llm/chat/completions"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let status = client().get(format!("{base}/status")).send().await.unwrap();
    assert_eq!(status.text().await.unwrap(), "app is fine");

    let braked = json_of(
        client()
            .post(format!("{base}/llm/chat/completions"))
            .json(&request(false)),
    )
    .await;
    assert_eq!(braked["selfbrake"]["braked"], true);
    assert_eq!(braked["selfbrake"]["rule"], "budget");
    assert_eq!(braked["selfbrake"]["reasoning_tokens"], 3);

    // Routes the layer does not own are the app's (here: its 404).
    let other = client()
        .post(format!("{base}/v1/chat/completions"))
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(mock.chat_bodies().len(), 2, "one brake, one continuation");
}
