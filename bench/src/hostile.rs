//! Clients that hold a proxy's resources, for the load test: one that stops
//! reading a stream mid-way, and one that sends its request head a byte a
//! second (slowloris). Both talk raw TCP, so nothing in a client library
//! reads or times out for them; each reports whether the server dropped it.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a streaming request, reads its first bytes, then reads nothing
/// until `until`. True when the server had closed the connection by then
/// (everything it wrote is drained, then EOF or a reset).
pub async fn stalled_reader(addr: SocketAddr, path: &str, body: &str, until: Instant) -> bool {
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        return false;
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if tcp.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 512];
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
    tokio::time::sleep_until(until.into()).await;
    closed(&mut tcp).await
}

/// Sends a request head one byte a second until `until`. True when the
/// server dropped the connection before the head was done.
pub async fn slow_headers(addr: SocketAddr, path: &str, until: Instant) -> bool {
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        return false;
    };
    let head =
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n");
    for byte in head.bytes().cycle() {
        if Instant::now() >= until {
            break;
        }
        if tcp.write_all(&[byte]).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    closed(&mut tcp).await
}

/// Drains what the server sent; true at EOF or a reset, false while it
/// keeps the connection open.
async fn closed(tcp: &mut TcpStream) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}
