//! The mock's probe routes, on when `MockConfig::probe` is set: vLLM's
//! `/tokenize` and `/detokenize` over a toy chat template, and
//! `/v1/completions` answering probes from a scripted belief.
//!
//! The template: every message as `<|ROLE|>\nCONTENT<|end|>\n`, then
//! `<|assistant|>\n` (and `<think>\n` with `template_opens_think`). Token
//! ids are the text's code points, so `/detokenize` gives the text back
//! exactly, special tokens included, as vLLM does.
//!
//! A probe's prompt is the templated text, the reasoning so far and a
//! suffix holding `**Final Answer**`. The belief that answers it is the
//! first whose `question` the prompt contains; it answers `wrong` with
//! probability `wrong_p` until the reasoning before the suffix holds
//! `right_after_steps` complete steps (blank lines), then `right` with
//! probability `right_p`. Answers come as vLLM's completions do, with
//! `logprobs.tokens` / `token_logprobs`: the answer, then `}`, then ` \]`
//! (after a wrong answer ` Wait` instead: the model is unsure, in its
//! words as in its probabilities).
//!
//! A continuation after a brake answers what the belief holds at the cut
//! (the blank lines of the prefix before `</think>`),
//! so a brake on the intermediate value gives the wrong answer.
use std::time::Duration;

use serde_json::{json, Value};

use crate::script::tokenize;
use crate::wire::Step;

/// What the model believes about one question.
#[derive(Debug, Clone)]
pub struct Belief {
    /// A piece of the question's text that selects this belief.
    pub question: String,
    pub wrong: String,
    pub wrong_p: f64,
    pub right: String,
    pub right_p: f64,
    /// Complete reasoning steps before the model knows.
    pub right_after_steps: usize,
}

impl Belief {
    pub fn new(question: &str, wrong: &str, right: &str, right_after_steps: usize) -> Self {
        Belief {
            question: question.into(),
            wrong: wrong.into(),
            wrong_p: 0.3,
            right: right.into(),
            right_p: 0.98,
            right_after_steps,
        }
    }
}

/// The mock's probe behaviour.
#[derive(Debug, Clone, Default)]
pub struct ProbeScript {
    pub beliefs: Vec<Belief>,
    /// How long a probe takes to answer.
    pub delay: Duration,
    /// The template opens `<think>` after the assistant tag.
    pub template_opens_think: bool,
    /// Leave `logprobs` out of the answers (`null`), as a server without
    /// them would.
    pub no_logprobs: bool,
    /// Answer `/tokenize` with vLLM's 400, as a server that cannot template
    /// the request would.
    pub refuse_tokenize: bool,
}

/// `/tokenize` on `body`: the templated messages (or the `prompt` text)
/// as code points.
pub(crate) fn tokenize_route(script: &ProbeScript, body: &Value) -> Value {
    let text = match body.get("messages").and_then(Value::as_array) {
        Some(messages) => template(script, messages),
        None => body["prompt"].as_str().unwrap_or_default().to_string(),
    };
    let tokens: Vec<u32> = text.chars().map(u32::from).collect();
    json!({"count": tokens.len(), "max_model_len": 32768, "tokens": tokens})
}

/// `/detokenize`: code points back to text.
pub(crate) fn detokenize_route(body: &Value) -> Value {
    let ids = body["tokens"].as_array().cloned().unwrap_or_default();
    let prompt: String = ids
        .iter()
        .filter_map(|id| id.as_u64().and_then(|n| char::from_u32(n as u32)))
        .collect();
    json!({"prompt": prompt})
}

/// The answer a continuation gives: the belief at the cut, boxed.
pub(crate) fn continuation_answer(script: &ProbeScript, body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    let text = |m: &Value| m["content"].as_str().unwrap_or_default().to_string();
    let question: String = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(text)
        .collect();
    let belief = script
        .beliefs
        .iter()
        .find(|b| question.contains(&b.question))
        .or(script.beliefs.first())?;
    let prefix = text(messages.last()?);
    let kept = prefix.split("</think>").next().unwrap_or_default();
    let steps = kept.matches("\n\n").count();
    let answer = if steps >= belief.right_after_steps {
        &belief.right
    } else {
        &belief.wrong
    };
    Some(format!("The final answer is $\\boxed{{{answer}}}$."))
}

fn template(script: &ProbeScript, messages: &[Value]) -> String {
    let mut s = String::new();
    for m in messages {
        let role = m["role"].as_str().unwrap_or("user");
        let content = m["content"].as_str().unwrap_or_default();
        s.push_str(&format!("<|{role}|>\n{content}<|end|>\n"));
    }
    s.push_str("<|assistant|>\n");
    if script.template_opens_think {
        s.push_str("<think>\n");
    }
    s
}

/// The answer to a probe, as the body steps of a JSON response that takes
/// `script.delay`: whitespace (valid before JSON) every 10 ms until then,
/// so that a client that gives up is seen at once, then the body.
pub(crate) fn completion_steps(script: &ProbeScript, body: &Value) -> (Vec<Step>, Duration) {
    let tick = Duration::from_millis(10);
    let mut steps: Vec<Step> = (0..script.delay.as_millis() / tick.as_millis())
        .map(|_| Step::Send {
            bytes: " ".into(),
            token: true,
            done: false,
        })
        .collect();
    steps.push(Step::Send {
        bytes: completion(script, body).to_string(),
        token: false,
        done: true,
    });
    (steps, tick)
}

fn completion(script: &ProbeScript, body: &Value) -> Value {
    let prompt = match &body["prompt"] {
        Value::String(s) => s.clone(),
        Value::Array(ids) => ids
            .iter()
            .filter_map(|id| id.as_u64().and_then(|n| char::from_u32(n as u32)))
            .collect(),
        _ => String::new(),
    };
    let belief = script
        .beliefs
        .iter()
        .find(|b| prompt.contains(&b.question))
        .or(script.beliefs.first());
    let reasoning = prompt.rsplit("<|assistant|>").next().unwrap_or_default();
    let reasoning = reasoning
        .split("**Final Answer**")
        .next()
        .unwrap_or_default();
    let steps = reasoning.matches("\n\n").count();
    let (answer, p, tail) = match belief {
        Some(b) if steps >= b.right_after_steps => (b.right.as_str(), b.right_p, " \\]"),
        Some(b) => (b.wrong.as_str(), b.wrong_p, " Wait"),
        None => ("", 0.5, " \\]"),
    };
    let max = body["max_tokens"].as_u64().unwrap_or(16) as usize;
    let parts: Vec<(&str, f64)> = [(answer, p), ("}", 0.999), (tail, 0.9)]
        .into_iter()
        .take(max)
        .collect();
    let text: String = parts.iter().map(|(t, _)| *t).collect();
    let logprobs = if script.no_logprobs {
        Value::Null
    } else {
        json!({
            "tokens": parts.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            "token_logprobs": parts.iter().map(|(_, p)| p.ln()).collect::<Vec<_>>(),
            "top_logprobs": parts.iter().map(|(t, p)| json!({*t: p.ln()})).collect::<Vec<_>>(),
        })
    };
    let prompt_tokens = tokenize(&prompt).len();
    json!({
        "id": "cmpl-probe", "object": "text_completion", "created": 1_764_000_000,
        "model": body.get("model").cloned().unwrap_or(json!("mock-model")),
        "choices": [{"index": 0, "text": text, "logprobs": logprobs,
                     "finish_reason": "length", "stop_reason": null}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": parts.len(),
                  "total_tokens": prompt_tokens + parts.len()}
    })
}
