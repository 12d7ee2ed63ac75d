//! Incremental Server-Sent Events decoder.
//!
//! Bytes arrive in arbitrary splits; complete events come out. Lines end with
//! `\n`, `\r\n` or `\r` (also when the `\r` and `\n` arrive in different
//! splits). Comments (`:` lines) and the `id` / `retry` fields are ignored;
//! multi-line `data:` fields are joined with `\n`; `event:` is kept.
//!
//! Stricter than the SSE spec on purpose: a line whose field name is not one
//! of `data`, `event`, `id`, `retry` is an error (an OpenAI-compatible server
//! never sends one, so it means the body is not an event stream), as are a
//! line that is not UTF-8 and a line longer than the limit.

use std::fmt;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Why the byte stream is not a valid event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// A line is longer than the limit (its length so far).
    LineTooLong(usize),
    /// A line that is not SSE.
    Malformed(String),
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong(n) => write!(f, "SSE line longer than the limit ({n} bytes)"),
            SseError::Malformed(m) => write!(f, "malformed SSE: {m}"),
        }
    }
}

/// The decoder. Pure: no I/O.
#[derive(Debug)]
pub struct SseDecoder {
    buf: Vec<u8>,
    max_line: usize,
    skip_lf: bool,
    data: Option<String>,
    event: Option<String>,
}

impl SseDecoder {
    pub fn new(max_line: usize) -> Self {
        SseDecoder {
            buf: Vec::new(),
            max_line,
            skip_lf: false,
            data: None,
            event: None,
        }
    }

    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out)?;
        Ok(out)
    }

    /// Feeds bytes; appends the events they complete to `out` (a reader
    /// reuses one vector for the whole stream).
    pub fn feed_into(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if self.skip_lf && !bytes.is_empty() {
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
            self.skip_lf = false;
        }
        if self.buf.is_empty() {
            // The usual case, a read that ends on an event boundary: lines
            // are read straight out of the input and nothing is copied but
            // an unfinished last line.
            let (done, result) = self.lines(bytes, 0, out);
            result?;
            return self.keep(&bytes[done..]);
        }
        let old = self.buf.len();
        // Lines are read straight out of the buffer, which is taken out of
        // `self` meanwhile so `line` may update the event state: no copy per line.
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(bytes);
        // Bytes before `old` were already scanned and hold no line end.
        let (done, result) = self.lines(&buf, old, out);
        buf.drain(..done);
        self.buf = buf;
        result?;
        self.keep(&[])
    }

    /// Handles the complete lines of `data`, looking for line ends from
    /// `scan`; returns where the unfinished rest starts.
    fn lines(
        &mut self,
        data: &[u8],
        mut scan: usize,
        out: &mut Vec<SseEvent>,
    ) -> (usize, Result<(), SseError>) {
        let mut start = 0;
        while let Some(rel) = data[scan..].iter().position(|&b| b == b'\n' || b == b'\r') {
            let end = scan + rel;
            let mut next = end + 1;
            if data[end] == b'\r' {
                if next < data.len() {
                    if data[next] == b'\n' {
                        next += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
            let result = self.line(&data[start..end], out);
            start = next;
            scan = next;
            if result.is_err() {
                return (start, result);
            }
        }
        (start, Ok(()))
    }

    /// Keeps `rest` (an unfinished line) for the next feed, within the limit.
    fn keep(&mut self, rest: &[u8]) -> Result<(), SseError> {
        if self.buf.len() + rest.len() > self.max_line {
            return Err(SseError::LineTooLong(self.buf.len() + rest.len()));
        }
        self.buf.extend_from_slice(rest);
        Ok(())
    }

    /// True when bytes or an undispatched event are pending (the stream
    /// ended in the middle of an event).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.data.is_some()
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if line.len() > self.max_line {
            return Err(SseError::LineTooLong(line.len()));
        }
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| SseError::Malformed("line is not UTF-8".into()))?;
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                // A run of `data:` lines with no blank line is one event:
                // it may not grow past a line's limit either.
                Some(d) if d.len() + 1 + value.len() > self.max_line => {
                    return Err(SseError::LineTooLong(d.len() + 1 + value.len()));
                }
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            "id" | "retry" => {}
            _ => {
                let shown: String = line.chars().take(80).collect();
                return Err(SseError::Malformed(format!("unexpected line {shown:?}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.into(),
        }
    }

    fn decode_split(input: &[u8], cuts: &[usize]) -> Result<Vec<SseEvent>, SseError> {
        let mut d = SseDecoder::new(1 << 20);
        let mut out = Vec::new();
        let mut prev = 0;
        for &c in cuts.iter().chain(std::iter::once(&input.len())) {
            out.extend(d.feed(&input[prev..c])?);
            prev = c;
        }
        Ok(out)
    }

    const STREAM: &str = ": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: ping\ndata: x\ndata: y\n\n\
        data:nospace\r\rdata: [DONE]\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            ev("{\"a\":1}"),
            SseEvent {
                event: Some("ping".into()),
                data: "x\ny".into(),
            },
            ev("nospace"),
            ev("[DONE]"),
        ]
    }

    #[test]
    fn whole_input() {
        assert_eq!(decode_split(STREAM.as_bytes(), &[]).unwrap(), expected());
    }

    #[test]
    fn every_single_split() {
        let b = STREAM.as_bytes();
        for i in 0..=b.len() {
            assert_eq!(decode_split(b, &[i]).unwrap(), expected(), "split at {i}");
        }
    }

    #[test]
    fn every_double_split_and_bytewise() {
        let b = STREAM.as_bytes();
        for i in 0..=b.len() {
            for j in i..=b.len() {
                assert_eq!(decode_split(b, &[i, j]).unwrap(), expected());
            }
        }
        let all: Vec<usize> = (1..b.len()).collect();
        assert_eq!(decode_split(b, &all).unwrap(), expected());
    }

    #[test]
    fn partial_event_is_reported() {
        let mut d = SseDecoder::new(100);
        assert!(d.feed(b"data: abc\n").unwrap().is_empty());
        assert!(d.has_partial());
        let mut d = SseDecoder::new(100);
        assert_eq!(d.feed(b"data: abc\n\n").unwrap(), vec![ev("abc")]);
        assert!(!d.has_partial());
    }

    #[test]
    fn line_limit() {
        let mut d = SseDecoder::new(16);
        assert!(d.feed(b"data: 0123456789").is_ok());
        assert_eq!(d.feed(b"ab"), Err(SseError::LineTooLong(18)));
        let mut d = SseDecoder::new(16);
        assert!(matches!(
            d.feed(b"data: 0123456789abcdef\n\n"),
            Err(SseError::LineTooLong(_))
        ));
        let mut d = SseDecoder::new(16);
        assert_eq!(
            d.feed(b"data: 0123456789\n\n").unwrap(),
            vec![ev("0123456789")]
        );
    }

    #[test]
    fn malformed_lines() {
        let mut d = SseDecoder::new(100);
        assert!(matches!(
            d.feed(b"garbage\n\n"),
            Err(SseError::Malformed(_))
        ));
        let mut d = SseDecoder::new(100);
        assert!(matches!(
            d.feed(b"data: \xff\xfe\n\n"),
            Err(SseError::Malformed(_))
        ));
        let mut d = SseDecoder::new(100);
        assert_eq!(d.feed(b"id: 3\nretry: 10\ndata\n\n").unwrap(), vec![ev("")]);
    }

    #[test]
    fn a_run_of_data_lines_without_a_blank_line_is_capped() {
        let mut d = SseDecoder::new(16);
        let mut result = Ok(Vec::new());
        for _ in 0..8 {
            result = d.feed(b"data: 0123456789\n");
            if result.is_err() {
                break;
            }
        }
        assert!(
            matches!(result, Err(SseError::LineTooLong(_))),
            "{result:?}"
        );
    }
}
