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

/// One event as [`SseDecoder::feed_with`] hands it over, borrowed for the
/// call: the decoder keeps one buffer for every event's data instead of
/// allocating a string per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseRef<'a> {
    pub event: Option<&'a str>,
    pub data: &'a str,
}

/// The decoder. Pure: no I/O.
#[derive(Debug)]
pub struct SseDecoder {
    buf: Vec<u8>,
    max_line: usize,
    skip_lf: bool,
    /// The current event's data; meaningful while `has_data`.
    data: String,
    has_data: bool,
    event: Option<String>,
}

impl SseDecoder {
    pub fn new(max_line: usize) -> Self {
        SseDecoder {
            buf: Vec::new(),
            max_line,
            skip_lf: false,
            data: String::new(),
            has_data: false,
            event: None,
        }
    }

    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        self.feed_with(bytes, &mut |ev| {
            out.push(SseEvent {
                event: ev.event.map(str::to_string),
                data: ev.data.to_string(),
            });
            true
        })?;
        Ok(out)
    }

    /// Feeds bytes; hands each event they complete to `sink`, which
    /// returns false when it wants no more (the stream is over: the decoder
    /// is not to be fed again).
    pub fn feed_with(
        &mut self,
        mut bytes: &[u8],
        sink: &mut dyn FnMut(SseRef<'_>) -> bool,
    ) -> Result<(), SseError> {
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
            let (done, result) = self.lines(bytes, 0, sink);
            if !result? {
                return Ok(());
            }
            return self.keep(&bytes[done..]);
        }
        let old = self.buf.len();
        // Lines are read straight out of the buffer, which is taken out of
        // `self` meanwhile so `line` may update the event state: no copy per line.
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(bytes);
        // Bytes before `old` were already scanned and hold no line end.
        let (done, result) = self.lines(&buf, old, sink);
        buf.drain(..done);
        self.buf = buf;
        result?;
        self.keep(&[])
    }

    /// Handles the complete lines of `data`, looking for line ends from
    /// `scan`; returns where the unfinished rest starts, and false when the
    /// sink wanted no more.
    fn lines(
        &mut self,
        data: &[u8],
        mut scan: usize,
        sink: &mut dyn FnMut(SseRef<'_>) -> bool,
    ) -> (usize, Result<bool, SseError>) {
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
            let result = self.line(&data[start..end], sink);
            start = next;
            scan = next;
            if !matches!(result, Ok(true)) {
                return (start, result);
            }
        }
        (start, Ok(true))
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
        !self.buf.is_empty() || self.has_data
    }

    /// One line; false when the sink wanted no more.
    fn line(
        &mut self,
        line: &[u8],
        sink: &mut dyn FnMut(SseRef<'_>) -> bool,
    ) -> Result<bool, SseError> {
        if line.len() > self.max_line {
            return Err(SseError::LineTooLong(line.len()));
        }
        if line.is_empty() {
            let mut more = true;
            if self.has_data {
                more = sink(SseRef {
                    event: self.event.as_deref(),
                    data: &self.data,
                });
                self.has_data = false;
            }
            self.event = None;
            return Ok(more);
        }
        if line[0] == b':' {
            return Ok(true);
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
            // A run of `data:` lines with no blank line is one event: it
            // may not grow past a line's limit either.
            "data" if self.has_data && self.data.len() + 1 + value.len() > self.max_line => {
                return Err(SseError::LineTooLong(self.data.len() + 1 + value.len()));
            }
            "data" if self.has_data => {
                self.data.push('\n');
                self.data.push_str(value);
            }
            "data" => {
                self.data.clear();
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            "id" | "retry" => {}
            _ => {
                let shown: String = line.chars().take(80).collect();
                return Err(SseError::Malformed(format!("unexpected line {shown:?}")));
            }
        }
        Ok(true)
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
