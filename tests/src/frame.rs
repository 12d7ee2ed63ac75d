//! vLLM's streaming chunks, as every mock upstream here writes them (the
//! in-process test mock and the benchmark's `fast-upstream`): `logprobs` and
//! `finish_reason` as `null` on every choice, `stop_reason` only on the
//! finishing chunk, a usage chunk with `choices: []`, then `data: [DONE]`.
//!
//! Chunks are rendered by string concatenation around pre-escaped tokens so
//! that a mock spends next to nothing per token and is never the bottleneck
//! of a benchmark.

use std::fmt::Write as _;

/// JSON string literal of `s` (quotes included).
pub fn escape(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The frame of one streamed completion: everything but the delta.
#[derive(Debug, Clone)]
pub struct Frame {
    /// `data: {"id":..,"object":..,"created":..,"model":..`
    head: String,
}

impl Frame {
    pub fn new(id: &str, model: &str, created: u64) -> Self {
        Frame {
            head: format!(
                "data: {{\"id\":{},\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{}",
                escape(id),
                escape(model)
            ),
        }
    }

    fn choice(&self, out: &mut String, delta: &str, finish: Option<&str>) {
        out.push_str(&self.head);
        out.push_str(",\"choices\":[{\"index\":0,\"delta\":");
        out.push_str(delta);
        match finish {
            None => out.push_str(",\"logprobs\":null,\"finish_reason\":null}]}\n\n"),
            Some(f) => {
                let _ = write!(
                    out,
                    ",\"logprobs\":null,\"finish_reason\":\"{f}\",\"stop_reason\":null}}]}}\n\n"
                );
            }
        }
    }

    /// The first chunk: `{"role":"assistant","content":""}`.
    pub fn role(&self) -> String {
        let mut s = String::with_capacity(self.head.len() + 120);
        self.choice(&mut s, "{\"role\":\"assistant\",\"content\":\"\"}", None);
        s
    }

    /// One token; `field` is `reasoning_content`, `reasoning` or `content`;
    /// `escaped` is the token as a JSON string literal.
    pub fn token(&self, field: &str, escaped: &str, finish: Option<&str>) -> String {
        let mut s = String::with_capacity(self.head.len() + field.len() + escaped.len() + 100);
        let mut delta = String::with_capacity(field.len() + escaped.len() + 6);
        let _ = write!(delta, "{{\"{field}\":{escaped}}}");
        self.choice(&mut s, &delta, finish);
        s
    }

    /// One chunk of several tokens (`escaped` their joined text) carrying
    /// the usage so far, as vLLM sends with
    /// `stream_options.continuous_usage_stats`.
    pub fn tokens_with_usage(
        &self,
        field: &str,
        escaped: &str,
        finish: Option<&str>,
        prompt: u64,
        completion: u64,
    ) -> String {
        let chunk = self.token(field, escaped, finish);
        let body = chunk.strip_suffix("}\n\n").unwrap_or(&chunk);
        format!(
            "{body},\"usage\":{{\"prompt_tokens\":{prompt},\"total_tokens\":{},\"completion_tokens\":{completion}}}}}\n\n",
            prompt + completion
        )
    }

    /// The usage chunk (`choices: []`); `reasoning` adds
    /// `completion_tokens_details.reasoning_tokens`, which vLLM leaves out.
    pub fn usage(&self, prompt: u64, completion: u64, reasoning: Option<u64>) -> String {
        let details = reasoning.map_or(String::new(), |r| {
            format!(",\"completion_tokens_details\":{{\"reasoning_tokens\":{r}}}")
        });
        format!(
            "{},\"choices\":[],\"usage\":{{\"prompt_tokens\":{prompt},\"total_tokens\":{},\"completion_tokens\":{completion}{details}}}}}\n\n",
            self.head,
            prompt + completion
        )
    }

    /// The usage chunk followed by `data: [DONE]`.
    pub fn usage_and_done(&self, prompt: u64, completion: u64, reasoning: u64) -> String {
        format!("{}{DONE}", self.usage(prompt, completion, Some(reasoning)))
    }
}

/// The end of every stream.
pub const DONE: &str = "data: [DONE]\n\n";

impl Frame {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_json() {
        let f = Frame::new("chatcmpl-1", "m", 7);
        for s in [
            f.role(),
            f.token("reasoning_content", &escape(" a\"b"), None),
            f.token("content", &escape("x"), Some("stop")),
        ] {
            let data = s.strip_prefix("data: ").unwrap().trim_end();
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["id"], "chatcmpl-1");
        }
        let u = f.usage_and_done(1, 2, 1);
        let first = u.split("\n\n").next().unwrap();
        let v: serde_json::Value = serde_json::from_str(&first[6..]).unwrap();
        assert_eq!(v["usage"]["total_tokens"], 3);
        assert!(u.ends_with("data: [DONE]\n\n"));
    }
}
