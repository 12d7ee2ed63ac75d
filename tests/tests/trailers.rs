//! A streamed response ends with the braking outcome as HTTP trailers for a
//! client that sent `TE: trailers`; others get the stream as before.
mod common;

use common::{config, request, Proxy};
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The raw HTTP/1.1 exchange: the response head and the bytes after the
/// last chunk (the trailer section).
async fn exchange(proxy: &Proxy, te: bool) -> (String, String) {
    let body = request(true).to_string();
    let te = if te { "TE: trailers\r\n" } else { "" };
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: selfbrake\r\nContent-Type: application/json\r\n{te}Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut socket = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let last = rest.rfind("\r\n0\r\n").expect("a chunked body") + "\r\n0\r\n".len();
    (head.to_ascii_lowercase(), rest[last..].to_string())
}

async fn braking_proxy() -> (MockUpstream, Proxy) {
    let script = Script::from_trace(&trace("r1-gsm8k-1"));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let policy = "rules = [{ kind = \"budget\", max_reasoning_tokens = 30 }]";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    (mock, proxy)
}

#[tokio::test]
async fn a_client_that_accepts_trailers_gets_the_outcome_after_the_stream() {
    let (_mock, proxy) = braking_proxy().await;
    let (head, trailers) = exchange(&proxy, true).await;
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        head.contains(
            "trailer: x-selfbrake-braked, x-selfbrake-rule, x-selfbrake-reasoning-tokens"
        ),
        "{head}"
    );
    let trailers = trailers.to_ascii_lowercase();
    assert!(
        trailers.contains("x-selfbrake-braked: true\r\n"),
        "{trailers:?}"
    );
    assert!(
        trailers.contains("x-selfbrake-rule: budget\r\n"),
        "{trailers:?}"
    );
    assert!(
        trailers.contains("x-selfbrake-reasoning-tokens: 30\r\n"),
        "{trailers:?}"
    );
    assert!(trailers.ends_with("\r\n\r\n"), "{trailers:?}");
}

#[tokio::test]
async fn other_clients_get_no_trailers() {
    let (_mock, proxy) = braking_proxy().await;
    let (head, trailers) = exchange(&proxy, false).await;
    assert!(!head.contains("\r\ntrailer:"), "{head}");
    assert_eq!(trailers, "\r\n", "an empty trailer section");
}
