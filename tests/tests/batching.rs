//! What arrives in one upstream read leaves in one client write: the
//! response's HTTP chunks (one per body write) are counted on the wire.
mod common;

use std::time::Duration;

use common::{config, request, Proxy};
use selfbrake_tests::raw::{RawConfig, RawUpstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// POSTs `body` with `Connection: close`; the response head and the data
/// of each HTTP chunk of its body.
async fn chunks_of(proxy: &Proxy, body: &serde_json::Value) -> (String, Vec<Vec<u8>>) {
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        proxy.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the proxy closes the connection")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let mut rest = &raw[split..];
    let mut chunks = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            break;
        }
        chunks.push(rest[..size].to_vec());
        assert_eq!(&rest[size..size + 2], b"\r\n");
        rest = &rest[size + 2..];
    }
    (head, chunks)
}

#[tokio::test]
async fn a_burst_read_at_once_goes_out_in_one_write() {
    const TOKENS: usize = 30;
    let upstream = RawUpstream::start(RawConfig {
        tokens: TOKENS,
        ..RawConfig::default()
    })
    .await;
    let proxy = Proxy::start(&config(&upstream.base_url(), "rules = []")).await;
    let (head, chunks) = chunks_of(&proxy, &request(true)).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let text: String = chunks
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let events = text.matches("data: ").count();
    // role, the tokens, the answer, the finishing chunk, usage, [DONE]
    assert_eq!(events, TOKENS + 5, "{text}");
    assert!(text.contains(&format!("\"t{} \"", TOKENS - 1)), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    // The upstream wrote its whole stream at once: the events of one read
    // share a write (one chunk per event before).
    assert!(
        chunks.len() <= 3,
        "{} writes for {events} events",
        chunks.len()
    );
}
