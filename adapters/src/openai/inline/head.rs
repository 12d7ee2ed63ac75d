//! The request's bytes, and the response's head read off the socket.
use bytes::{BufMut, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::framing::Framing;

/// A response head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;
/// Header fields read from one response head, at most.
const MAX_HEADERS: usize = 128;

/// Why an exchange failed before its response head was read.
#[derive(Debug)]
pub(super) enum HeadError {
    /// The socket failed or closed: on a reused socket, worth one more try.
    Io(String),
    /// The server answered something that is not HTTP/1.
    Protocol(String),
}

/// A parsed response head, and how its body is framed.
pub(super) struct Head {
    pub parts: http::response::Parts,
    pub framing: Framing,
    /// The connection may carry another exchange after this one.
    pub keep_alive: bool,
}

/// The request as it goes on the wire: head and body in one write. `host`
/// goes out where the headers carry none; the length is always ours.
pub(super) fn request_bytes(
    method: &http::Method,
    path: &str,
    headers: &http::HeaderMap,
    host: &str,
    body: &[u8],
) -> BytesMut {
    let mut out = BytesMut::with_capacity(256 + body.len());
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(path.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(http::header::HOST) {
        field(&mut out, "host", host.as_bytes());
    }
    for (name, value) in headers {
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        field(&mut out, name.as_str(), value.as_bytes());
    }
    field(
        &mut out,
        "content-length",
        body.len().to_string().as_bytes(),
    );
    out.put_slice(b"\r\n");
    out.put_slice(body);
    out
}

fn field(out: &mut BytesMut, name: &str, value: &[u8]) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// Reads until a final (non-1xx) response head is complete; what follows
/// it stays in `buf`.
pub(super) async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> Result<Head, HeadError> {
    loop {
        if let Some(head) = parse(buf)? {
            if head.parts.status.is_informational() {
                continue;
            }
            return Ok(head);
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::Protocol(format!(
                "response head larger than {MAX_HEAD} bytes"
            )));
        }
        buf.reserve(8 * 1024);
        match stream.read_buf(buf).await {
            Ok(0) => {
                return Err(HeadError::Io(
                    "connection closed before the response head".into(),
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(HeadError::Io(e.to_string())),
        }
    }
}

/// One head out of `buf`, if it holds a whole one.
fn parse(buf: &mut BytesMut) -> Result<Option<Head>, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(HeadError::Protocol(format!("invalid response head: {e}"))),
    };
    let code = response.code.unwrap_or_default();
    let status = http::StatusCode::from_u16(code)
        .map_err(|_| HeadError::Protocol(format!("invalid status {code}")))?;
    let mut builder =
        http::Response::builder()
            .status(status)
            .version(if response.version == Some(0) {
                http::Version::HTTP_10
            } else {
                http::Version::HTTP_11
            });
    for field in response.headers.iter() {
        builder = builder.header(field.name, field.value);
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|e| HeadError::Protocol(format!("invalid response header: {e}")))?
        .into_parts();
    let _ = buf.split_to(len);
    let framing = framing(&parts)?;
    let closing = parts
        .headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| has_token(v.as_bytes(), "close"));
    let keep_alive =
        parts.version == http::Version::HTTP_11 && !closing && framing != Framing::Close;
    Ok(Some(Head {
        parts,
        framing,
        keep_alive,
    }))
}

fn framing(parts: &http::response::Parts) -> Result<Framing, HeadError> {
    let status = parts.status;
    if status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Length(0));
    }
    let headers = &parts.headers;
    if let Some(last) = headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .next_back()
    {
        // Only chunked is read here; any other coding ends at the close.
        let chunked = last
            .as_bytes()
            .rsplit(|&b| b == b',')
            .next()
            .is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked {
            Framing::Chunked
        } else {
            Framing::Close
        });
    }
    match headers.get(http::header::CONTENT_LENGTH) {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Framing::Length)
            .ok_or_else(|| HeadError::Protocol("invalid content-length".into())),
        None => Ok(Framing::Close),
    }
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        let mut buf = BytesMut::from(text.as_bytes());
        parse(&mut buf).ok().flatten().expect("a whole head")
    }

    #[test]
    fn framing_and_reuse_follow_the_head() {
        let h = head("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
        let h = head("HTTP/1.1 400 Bad\r\ncontent-length: 12\r\nconnection: close\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(12), false));
        let h = head("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Close, false));
        let h = head("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n");
        assert!(!h.keep_alive);
    }

    #[test]
    fn a_partial_head_waits_and_garbage_is_an_error() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\ncontent-le"[..]);
        assert!(matches!(parse(&mut buf), Ok(None)));
        let mut buf = BytesMut::from(&b"SSH-2.0-OpenSSH\r\n\r\n"[..]);
        assert!(matches!(parse(&mut buf), Err(HeadError::Protocol(_))));
    }
}
