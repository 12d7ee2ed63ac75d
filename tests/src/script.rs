//! What the mock model "generates": reasoning and answer text, split into
//! tokens, in one of the wire forms engines use for reasoning.

use std::time::Duration;

/// How reasoning reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningForm {
    /// `delta.reasoning` (vLLM ≥ 0.11 with a reasoning parser).
    #[default]
    Reasoning,
    /// `delta.reasoning_content` (older vLLM, DeepSeek API).
    ReasoningContent,
    /// `<think>` + reasoning + `</think>` + answer, all in `delta.content`
    /// (no reasoning parser). The tags are one token each.
    InlineThink,
    /// reasoning + `</think>` + answer in `delta.content`: the chat template
    /// already opened `<think>`.
    InlineThinkNoOpen,
}

/// A scripted generation.
#[derive(Debug, Clone)]
pub struct Script {
    /// Reasoning text (without tags).
    pub reasoning: String,
    /// Answer text.
    pub answer: String,
    pub form: ReasoningForm,
    /// Pause before each token chunk (not before the role chunk, the usage
    /// chunk or `[DONE]`).
    pub delay: Duration,
    /// `finish_reason` when all tokens fit in the request's `max_tokens`
    /// (otherwise it is `"length"`).
    pub finish_reason: String,
    /// Instead of word tokens, cut the wire text into pieces of this many
    /// characters (one piece per chunk, counted as one token). With the
    /// inline forms the cut runs over the whole content, so `<think>` and
    /// `</think>` get split across chunks.
    pub chunk_chars: Option<usize>,
    /// Tokens per chunk (of one kind: reasoning and answer never share a
    /// chunk), as engines with speculative decoding or a stream interval
    /// send them. Default 1.
    pub tokens_per_chunk: usize,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            reasoning: "Two plus two is 4. So the answer is \\boxed{4}.\n\nWait, let me check: 2 + 2 = 4. Yes."
                .into(),
            answer: "The final answer is $\\boxed{4}$.".into(),
            form: ReasoningForm::default(),
            delay: Duration::ZERO,
            finish_reason: "stop".into(),
            chunk_chars: None,
            tokens_per_chunk: 1,
        }
    }
}

impl Script {
    pub fn new(reasoning: impl Into<String>, answer: impl Into<String>) -> Self {
        Script {
            reasoning: reasoning.into(),
            answer: answer.into(),
            ..Script::default()
        }
    }

    pub fn form(mut self, form: ReasoningForm) -> Self {
        self.form = form;
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn tokens_per_chunk(mut self, n: usize) -> Self {
        self.tokens_per_chunk = n.max(1);
        self
    }

    pub fn chunk_chars(mut self, n: usize) -> Self {
        self.chunk_chars = Some(n.max(1));
        self
    }

    /// Reasoning tokens as the wire carries them (tags included for the
    /// inline forms), then answer tokens. `true` marks reasoning.
    pub fn tokens(&self) -> Vec<(bool, String)> {
        if let Some(n) = self.chunk_chars {
            return self.pieces(n);
        }
        let mut out = Vec::new();
        if self.form == ReasoningForm::InlineThink {
            out.push((true, "<think>".to_string()));
        }
        out.extend(tokenize(&self.reasoning).into_iter().map(|t| (true, t)));
        if matches!(
            self.form,
            ReasoningForm::InlineThink | ReasoningForm::InlineThinkNoOpen
        ) {
            out.push((true, "</think>".to_string()));
        }
        out.extend(tokenize(&self.answer).into_iter().map(|t| (false, t)));
        out
    }
}

impl Script {
    fn pieces(&self, n: usize) -> Vec<(bool, String)> {
        let inline = matches!(
            self.form,
            ReasoningForm::InlineThink | ReasoningForm::InlineThinkNoOpen
        );
        if !inline {
            let mut out = cut(&self.reasoning, n, true);
            out.extend(cut(&self.answer, n, false));
            return out;
        }
        let open = if self.form == ReasoningForm::InlineThink {
            "<think>"
        } else {
            ""
        };
        let thought = format!("{open}{}</think>", self.reasoning);
        let all = format!("{thought}{}", self.answer);
        let mut out = Vec::new();
        let mut start = 0;
        for piece in cut(&all, n, false) {
            let reasoning = start < thought.len();
            start += piece.1.len();
            out.push((reasoning, piece.1));
        }
        out
    }
}

fn cut(text: &str, n: usize, flag: bool) -> Vec<(bool, String)> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(n)
        .map(|c| (flag, c.iter().collect()))
        .collect()
}

/// Deterministic "tokenizer": each token is a run of whitespace followed by
/// a run of non-whitespace (so `"a  b\n\nc"` → `["a", "  b", "\n\nc"]`).
/// Concatenating the tokens gives the text back.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    for c in text.chars() {
        if c.is_whitespace() && in_word {
            out.push(std::mem::take(&mut cur));
            in_word = false;
        }
        if !c.is_whitespace() {
            in_word = true;
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_round_trips() {
        for t in ["", "a", " a", "a  b\n\nc ", "\\boxed{4}. Wait,\n\n  hmm"] {
            assert_eq!(tokenize(t).concat(), t);
        }
        assert_eq!(tokenize("a  b\n\nc"), vec!["a", "  b", "\n\nc"]);
    }

    #[test]
    fn char_pieces_split_tags() {
        let s = Script::new("ab", "cd")
            .form(ReasoningForm::InlineThink)
            .chunk_chars(3);
        let toks: Vec<String> = s.tokens().into_iter().map(|t| t.1).collect();
        assert_eq!(toks.concat(), "<think>ab</think>cd");
        assert_eq!(toks[0], "<th");
        let s = Script::new("abcd", "é").chunk_chars(3);
        assert_eq!(
            s.tokens(),
            vec![
                (true, "abc".into()),
                (true, "d".into()),
                (false, "é".into())
            ]
        );
    }

    #[test]
    fn inline_tokens_have_tags() {
        let s = Script::new("r s", "a").form(ReasoningForm::InlineThink);
        let toks: Vec<String> = s.tokens().into_iter().map(|t| t.1).collect();
        assert_eq!(toks, vec!["<think>", "r", " s", "</think>", "a"]);
    }
}
