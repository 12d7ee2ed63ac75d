//! Mount selfbrake's braking on a route of your own axum app.
//!
//! ```text
//! cargo run -p selfbrake --example mount_layer -- examples/vllm.toml 127.0.0.1:3000
//! curl -s localhost:3000/status
//! curl -s localhost:3000/llm/chat/completions -d '{"model":"m","messages":[{"role":"user","content":"2+2?"}]}'
//! ```
//! `POST /llm/chat/completions` is braked with the config's policy; every other
//! route is the app's own.
use axum::routing::get;
use axum::Router;
use selfbrake::config::Config;
use selfbrake::{AppState, BrakeLayer, Gateway};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config_path = args.next().unwrap_or_else(|| "examples/vllm.toml".into());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
    let config = Config::load(config_path.as_ref())?;
    let state = AppState::new(Gateway::build(&config)?);
    let app = Router::new()
        .route("/status", get(|| async { "my app is fine" }))
        .layer(BrakeLayer::new(state).path("/llm/chat/completions"));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!(
        "app with braking on http://{}/llm/chat/completions",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
