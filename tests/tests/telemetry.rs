//! OpenTelemetry end to end: a braked request's spans reach an OTLP/HTTP
//! collector (an in-process receiver decoding the protobuf the exporter
//! sends) under the client's trace, and the upstream gets that trace too.
//!
//! The tracing subscriber is process-wide, so this file holds one test.
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use common::{client, config, read_sse, request, Proxy};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use selfbrake::config::TelemetryConfig;
use selfbrake::telemetry::Telemetry;
use selfbrake_tests::{Misbehaviour, MockConfig, MockUpstream, Script};
use tracing_subscriber::layer::SubscriberExt;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// Spans received, with the `service.name` of their resource.
type Received = Arc<Mutex<Vec<(String, Span)>>>;

/// An OTLP/HTTP receiver on loopback: `POST /v1/traces`, protobuf.
async fn collector() -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(accept))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn accept(
    State(received): State<Received>,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    let Ok(export) = ExportTraceServiceRequest::decode(body) else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
        );
    };
    let mut received = received.lock().unwrap();
    for resource_spans in export.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push((service.clone(), span));
            }
        }
    }
    // An empty ExportTraceServiceResponse.
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-protobuf")],
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The received span named `name` in trace [`TRACE_ID`].
fn find<'s>(spans: &'s [(String, Span)], name: &str) -> Option<&'s (String, Span)> {
    find_in(spans, TRACE_ID, name)
}

fn find_in<'s>(spans: &'s [(String, Span)], trace: &str, name: &str) -> Option<&'s (String, Span)> {
    spans
        .iter()
        .find(|(_, s)| s.name == name && hex(&s.trace_id) == trace)
}

/// The integer attribute `key` of `span`.
fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::IntValue(i) => Some(*i),
            _ => None,
        })
}

/// Flushes until `names` all arrived in `trace` (a request span ends once
/// its response body is dropped), then returns every span received.
async fn spans_of(
    telemetry: &Arc<Telemetry>,
    received: &Received,
    trace: &str,
    names: &[&str],
) -> Vec<(String, Span)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let flushing = telemetry.clone();
        tokio::task::spawn_blocking(move || flushing.flush())
            .await
            .unwrap();
        let spans = received.lock().unwrap().clone();
        if names.iter().all(|n| find_in(&spans, trace, n).is_some()) {
            return spans;
        }
        assert!(Instant::now() < deadline, "spans received: {spans:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_braked_request_is_one_trace_under_the_clients_with_the_upstream_in_it() {
    let (endpoint, received) = collector().await;
    let telemetry = Telemetry::start(&TelemetryConfig {
        otlp_endpoint: Some(endpoint),
        service_name: "selfbrake-under-test".into(),
        sample_ratio: 1.0,
    })
    .unwrap()
    .expect("an endpoint turns telemetry on");
    let telemetry = Arc::new(telemetry);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(telemetry.layer()))
        .unwrap();

    let script = Script::new(
        "Two plus two. That is 4. Let me check again, 2 + 2 = 4. Yes.",
        "The answer is 4.",
    );
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let policy =
        "answer_max_tokens = 16\nrules = [{ kind = \"budget\", max_reasoning_tokens = 3 }]";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    for probe in ["/healthz", "/readyz"] {
        let answer = client().get(proxy.url(probe)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{probe}");
    }
    let response = client()
        .post(proxy.url("/v1/chat/completions"))
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))
        .json(&request(true))
        .send()
        .await
        .unwrap();
    let events = read_sse(response).await;
    assert!(
        events.iter().any(|e| e.data.contains("\"braked\":true")),
        "the request braked"
    );

    let names = ["request", "upstream", "brake", "continuation"];
    let spans = spans_of(&telemetry, &received, TRACE_ID, &names).await;

    let (service, request_span) = find(&spans, "request").unwrap();
    assert_eq!(service, "selfbrake-under-test");
    assert_eq!(
        hex(&request_span.parent_span_id),
        CLIENT_SPAN,
        "child of the client's span"
    );
    assert_eq!(
        int_attribute(request_span, "http.response.status_code"),
        Some(200),
        "{:?}",
        request_span.attributes
    );
    // Probes are not traced.
    let paths: Vec<_> = spans
        .iter()
        .flat_map(|(_, span)| &span.attributes)
        .filter(|kv| kv.key == "path")
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(path) => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(paths, ["/v1/chat/completions"]);
    for name in ["upstream", "brake", "continuation"] {
        let (_, span) = find(&spans, name).unwrap();
        assert_eq!(
            span.parent_span_id, request_span.span_id,
            "{name} is a child of request"
        );
    }

    // Each upstream call carries the trace, with its own span as the parent.
    let upstream: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect();
    assert_eq!(upstream.len(), 2, "the request and its continuation");
    for (sent, name) in upstream.iter().zip(["upstream", "continuation"]) {
        let (_, span) = find(&spans, name).unwrap();
        let expected = format!("00-{TRACE_ID}-{}-01", hex(&span.span_id));
        assert_eq!(
            sent.header("traceparent"),
            Some(expected.as_str()),
            "{name}"
        );
    }

    // An upstream that fails: its span is marked failed, with why.
    mock.set_fault(Misbehaviour::status(500, "engine crashed"));
    let failing_trace = "0af7651916cd43dd8448eb211c80319c";
    let response = client()
        .post(proxy.url("/v1/chat/completions"))
        .header(
            "traceparent",
            format!("00-{failing_trace}-b7ad6b7169203331-01"),
        )
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let spans = spans_of(
        &telemetry,
        &received,
        failing_trace,
        &["request", "upstream"],
    )
    .await;
    let (_, request_span) = find_in(&spans, failing_trace, "request").unwrap();
    assert_eq!(
        int_attribute(request_span, "http.response.status_code"),
        Some(502)
    );
    let (_, upstream_span) = find_in(&spans, failing_trace, "upstream").unwrap();
    let status = upstream_span.status.as_ref().expect("a status");
    assert_eq!(status.code, SpanStatus::Error as i32, "{status:?}");
    assert!(status.message.contains("500"), "{status:?}");
}
