//! HTTP/1.1 response bodies: chunked, length-delimited or read to the
//! connection's close, decoded out of one buffer.
//!
//! A streaming engine writes each SSE event as one HTTP chunk; a socket
//! read holds one of them at a GPU's pace and hundreds at full speed. The
//! decoder takes every data byte the buffer holds in one call, so one read
//! becomes one item for the SSE decoder, and a read holding a single chunk
//! is handed over without a copy.
use bytes::{Buf, Bytes, BytesMut};

/// A chunk-size or trailer line longer than this is not HTTP.
const MAX_LINE: usize = 4096;

/// How the body's end is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    Chunked,
    Length(u64),
    /// No length: the body ends when the server closes the connection.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

/// The body decoder of one response.
#[derive(Debug)]
pub(super) struct Decoder {
    framing: Framing,
    state: State,
}

/// The data bytes taken out of the buffer by one `decode` call.
#[derive(Default)]
pub(super) struct Taken {
    first: Option<Bytes>,
    more: Option<BytesMut>,
}

impl Taken {
    fn push(&mut self, piece: Bytes) {
        if piece.is_empty() {
            return;
        }
        match (&mut self.first, &mut self.more) {
            (None, _) => self.first = Some(piece),
            (Some(first), more) => {
                let joined = more.get_or_insert_with(|| {
                    let mut all = BytesMut::with_capacity(2 * (first.len() + piece.len()));
                    all.extend_from_slice(first);
                    all
                });
                joined.extend_from_slice(&piece);
            }
        }
    }

    /// All of it as one item.
    pub(super) fn into_bytes(self) -> Option<Bytes> {
        match self.more {
            Some(all) => Some(all.freeze()),
            None => self.first,
        }
    }
}

impl Decoder {
    pub(super) fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Data(n),
            Framing::Chunked => State::Size,
            Framing::Close => State::Data(u64::MAX),
        };
        Decoder { framing, state }
    }

    pub(super) fn framing(&self) -> Framing {
        self.framing
    }

    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Moves the data bytes `buf` holds into `taken`; stops when the buffer
    /// runs out or the body is complete (bytes after it stay in `buf`).
    pub(super) fn decode(&mut self, buf: &mut BytesMut, taken: &mut Taken) -> Result<(), String> {
        loop {
            match self.state {
                State::Done => return Ok(()),
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(());
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    taken.push(buf.split_to(n).freeze());
                    let left = left - n as u64;
                    self.state = match (left, self.framing) {
                        (0, Framing::Chunked) => State::DataEnd,
                        (0, _) => State::Done,
                        (left, _) => State::Data(left),
                    };
                }
                State::DataEnd => match buf.first() {
                    None => return Ok(()),
                    Some(b'\n') => {
                        buf.advance(1);
                        self.state = State::Size;
                    }
                    Some(b'\r') if buf.len() < 2 => return Ok(()),
                    Some(b'\r') if buf[1] == b'\n' => {
                        buf.advance(2);
                        self.state = State::Size;
                    }
                    Some(_) => return Err("chunk data is not followed by CRLF".into()),
                },
                State::Size => {
                    let Some(end) = line_end(buf)? else {
                        return Ok(());
                    };
                    let size = chunk_size(trim_cr(&buf[..end]))?;
                    buf.advance(end + 1);
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::Data(size)
                    };
                }
                State::Trailer => {
                    let Some(end) = line_end(buf)? else {
                        return Ok(());
                    };
                    let empty = trim_cr(&buf[..end]).is_empty();
                    buf.advance(end + 1);
                    if empty {
                        self.state = State::Done;
                    }
                }
            }
        }
    }
}

/// Where the buffer's first line ends (its `\n`); `None` until it holds one.
fn line_end(buf: &[u8]) -> Result<Option<usize>, String> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) if end <= MAX_LINE => Ok(Some(end)),
        None if buf.len() <= MAX_LINE => Ok(None),
        _ => Err(format!("a chunk line is longer than {MAX_LINE} bytes")),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The size of a chunk-size line (`1a3`, `1a3;ext=v`).
fn chunk_size(line: &[u8]) -> Result<u64, String> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(format!(
            "invalid chunk size line {:?}",
            String::from_utf8_lossy(line)
        ));
    }
    let text = std::str::from_utf8(digits).map_err(|_| "chunk size is not ASCII".to_string())?;
    u64::from_str_radix(text, 16).map_err(|_| format!("invalid chunk size {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(framing: Framing, input: &[&[u8]]) -> (Vec<Vec<u8>>, bool, Vec<u8>) {
        let mut d = Decoder::new(framing);
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for part in input {
            buf.extend_from_slice(part);
            let mut taken = Taken::default();
            d.decode(&mut buf, &mut taken).unwrap();
            if let Some(b) = taken.into_bytes() {
                items.push(b.to_vec());
            }
        }
        (items, d.is_done(), buf.to_vec())
    }

    #[test]
    fn every_chunk_ready_in_one_read_is_one_item() {
        let (items, done, rest) = run(
            Framing::Chunked,
            &[b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\nNEXT"],
        );
        assert_eq!(items, vec![b"hello world".to_vec()]);
        assert!(done);
        assert_eq!(
            rest, b"NEXT",
            "bytes after the body stay for the next response"
        );
    }

    #[test]
    fn a_chunk_split_anywhere_comes_out_whole_and_in_order() {
        let body = b"a\r\n0123456789\r\n3\r\nabc\r\n0\r\nx-trailer: 1\r\n\r\n";
        for cut in 1..body.len() {
            let (items, done, rest) = run(Framing::Chunked, &[&body[..cut], &body[cut..]]);
            assert_eq!(items.concat(), b"0123456789abc".to_vec(), "cut at {cut}");
            assert!(done, "cut at {cut}");
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn a_length_body_ends_at_its_length() {
        let (items, done, rest) = run(Framing::Length(4), &[b"ab", b"cdEF"]);
        assert_eq!(items, vec![b"ab".to_vec(), b"cd".to_vec()]);
        assert!(done);
        assert_eq!(rest, b"EF");
    }

    #[test]
    fn garbage_is_an_error_not_a_hang() {
        let mut d = Decoder::new(Framing::Chunked);
        let mut taken = Taken::default();
        let mut buf = BytesMut::from(&b"zz\r\n"[..]);
        assert!(d.decode(&mut buf, &mut taken).is_err());
        let mut d = Decoder::new(Framing::Chunked);
        let mut buf = BytesMut::from(&b"2\r\nabX"[..]);
        assert!(d.decode(&mut buf, &mut taken).is_err());
        let mut d = Decoder::new(Framing::Chunked);
        let mut buf = BytesMut::from(vec![b'1'; MAX_LINE + 2].as_slice());
        assert!(d.decode(&mut buf, &mut taken).is_err());
    }
}
