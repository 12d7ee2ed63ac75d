//! `selfbrake serve` with `[telemetry]`: the spans still queued when the
//! process is told to stop reach the collector before it exits.
mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use common::Served;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Names of the spans received, with their resource's attributes' keys and string values.
type Received = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

async fn accept(State(received): State<Received>, body: Bytes) -> StatusCode {
    let Ok(export) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut received = received.lock().unwrap();
    for resource_spans in export.resource_spans {
        let resource: Vec<(String, String)> = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
            .collect();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push((span.name, resource.clone()));
            }
        }
    }
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_queued_at_sigterm_are_flushed_before_exit() {
    let received = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(accept))
        .with_state(received.clone());
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(collector, app).await.unwrap() });

    let mut served = Served::start(
        "otel",
        |port| {
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"\"\n\
                 [backends.default]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
                 [telemetry]\notlp_endpoint = \"{endpoint}\"\nservice_name = \"selfbrake-exit-test\"\n"
            )
        },
        Stdio::null(),
    )
    .await;
    let base = served.base.clone();
    let client = reqwest::Client::new();
    // One traced request (probes are not traced); its backend is down, which
    // changes nothing here. The exporter sends a batch every 5 s: stopping at
    // once leaves its spans queued.
    let models = client
        .get(format!("{base}/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 502);
    assert!(received.lock().unwrap().is_empty());
    served.sigterm();

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    let received = received.lock().unwrap().clone();
    let (_, resource) = received
        .iter()
        .find(|(name, _)| name == "request")
        .unwrap_or_else(|| panic!("no request span flushed at exit: {received:?}"));
    let service = resource.iter().find(|(k, _)| k == "service.name");
    assert!(
        service.is_some_and(|(_, v)| v.contains("selfbrake-exit-test")),
        "{resource:?}"
    );
}
