//! Raw-completion prompts: the chat template applied to the messages with
//! the assistant turn opened, then a prefix of our own.

use ::mistralrs::core::{DetokenizationRequest, TokenizationRequest};
use ::mistralrs::{Model, Request};
use either::Either;
use tokio::sync::mpsc;

use super::backend::bad_request;
use super::request::Parsed;
use crate::format::{self, PrefixFormat, OPEN_THINK};
use crate::AdapterError;

/// What follows the opened assistant turn.
pub(super) enum Prefix {
    /// `<think>\n`: the model reasons inside a block the monitor watches.
    OpenThink,
    /// `<think>\n{reasoning}\n</think>\n\n`: the model writes its answer.
    Answer(String),
    /// `<think>\n{reasoning}{suffix}`: a probe, asked inside the open block.
    Probe(String),
}

pub(super) struct Prompt {
    pub tokens: Vec<u32>,
    /// The text appended after the templated messages: what a
    /// continuation's output must not repeat.
    pub prefix: String,
}

/// The prefix text, given whether the template already opened `<think>`.
pub(super) fn prefix_text(prefix: &Prefix, template_opened_think: bool) -> String {
    match prefix {
        Prefix::OpenThink if template_opened_think => String::new(),
        Prefix::OpenThink => format!("{OPEN_THINK}\n"),
        Prefix::Probe(turn) if template_opened_think => turn.clone(),
        Prefix::Probe(turn) => format!("{OPEN_THINK}\n{turn}"),
        Prefix::Answer(reasoning) => {
            let layout = if template_opened_think {
                PrefixFormat::CloseOnly
            } else {
                PrefixFormat::ThinkTags
            };
            format::prefix(layout, reasoning)
        }
    }
}

/// Tokens of the templated messages plus `prefix`.
pub(super) async fn build(
    model: &Model,
    parsed: &Parsed,
    prefix: Prefix,
) -> Result<Prompt, AdapterError> {
    let sender = model
        .inner()
        .get_sender(None)
        .map_err(|e| AdapterError::Internal(format!("engine: {e}")))?;
    let (tx, rx) = mpsc::channel(1);
    let templated = Request::Tokenize(TokenizationRequest {
        text: Either::Left(parsed.messages.clone()),
        tools: parsed.params.tools.clone(),
        add_generation_prompt: true,
        add_special_tokens: true,
        enable_thinking: parsed.enable_thinking,
        reasoning_effort: None,
        response: tx,
    });
    let mut tokens = ask(&sender, templated, rx)
        .await?
        .map_err(|e| bad_request(&format!("chat template: {e:#}")))?;
    // Does the template open the think block itself (DeepSeek-R1, QwQ)?
    let tail_start = tokens.len().saturating_sub(4);
    let (tx, rx) = mpsc::channel(1);
    let detok = Request::Detokenize(DetokenizationRequest {
        tokens: tokens[tail_start..].to_vec(),
        skip_special_tokens: false,
        response: tx,
    });
    let tail = ask(&sender, detok, rx)
        .await?
        .map_err(|e| AdapterError::Internal(format!("detokenize: {e:#}")))?;
    let text = prefix_text(&prefix, tail.trim_end().ends_with(OPEN_THINK));
    if !text.is_empty() {
        let (tx, rx) = mpsc::channel(1);
        let plain = Request::Tokenize(TokenizationRequest {
            text: Either::Right(text.clone()),
            tools: None,
            add_generation_prompt: false,
            add_special_tokens: false,
            enable_thinking: None,
            reasoning_effort: None,
            response: tx,
        });
        let more = ask(&sender, plain, rx)
            .await?
            .map_err(|e| AdapterError::Internal(format!("tokenize: {e:#}")))?;
        tokens.extend(more);
    }
    Ok(Prompt {
        tokens,
        prefix: text,
    })
}

/// Sends `request` and waits for its answer on `rx`. The wait runs in its own
/// task: the engine panics when it cannot deliver a tokenizer answer, so the
/// receiver must outlive a caller that gives up (a client that disconnects).
async fn ask<T: Send + 'static>(
    sender: &mpsc::Sender<Request>,
    request: Request,
    mut rx: mpsc::Receiver<T>,
) -> Result<T, AdapterError> {
    let sender = sender.clone();
    let task = tokio::spawn(async move {
        sender.send(request).await.ok()?;
        rx.recv().await
    });
    task.await
        .ok()
        .flatten()
        .ok_or_else(|| AdapterError::Internal("the engine has stopped".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(prefix_text(&Prefix::OpenThink, false), "<think>\n");
        assert_eq!(prefix_text(&Prefix::OpenThink, true), "");
        let answer = Prefix::Answer("It is 4.\n\nWait, verified.".into());
        assert_eq!(
            prefix_text(&answer, false),
            "<think>\nIt is 4.\n\nWait, verified.\n</think>\n\n"
        );
        assert_eq!(
            prefix_text(&answer, true),
            "It is 4.\n\nWait, verified.\n</think>\n\n"
        );
    }
}
