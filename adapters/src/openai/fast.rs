//! The per-token fast path: the common `chat.completion.chunk` parsed into
//! borrowed, typed structs instead of a `serde_json::Value` tree.
//!
//! Parsing into `Value` builds and drops a map per chunk and was most of the
//! proxy's per-token CPU. The general path ignores unknown keys of the chunk
//! and of a choice, so they are ignored here too (a server adding one, such
//! as `system_fingerprint` or `service_tier`, keeps the fast path); unknown
//! *delta* keys become events there, so a delta refuses them. Any chunk this
//! path accepts gives the same events on the general path; anything else
//! (usage, tool calls, extra delta keys, several choices, in-stream errors)
//! takes the general path.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct Chunk<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub object: Option<Cow<'a, str>>,
    #[serde(default)]
    pub created: Option<u64>,
    #[serde(borrow, default)]
    pub model: Option<Cow<'a, str>>,
    /// Only `null` (or absent): an in-stream error takes the general path.
    #[serde(default)]
    #[allow(dead_code)] // accepted so the chunk qualifies, never read
    pub error: Option<Never>,
    /// Only `null` (or absent) is accepted: a usage object takes the general path.
    #[serde(default)]
    #[allow(dead_code)] // accepted so the chunk qualifies, never read
    pub usage: Option<Never>,
    /// Exactly one: an array, not a vector, so a chunk costs no allocation;
    /// any other count fails here and takes the general path.
    #[serde(borrow)]
    pub choices: [Choice<'a>; 1],
}

#[derive(Deserialize)]
pub(super) struct Choice<'a> {
    #[serde(default)]
    pub index: u64,
    #[serde(borrow, default)]
    pub delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    pub finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Delta<'a> {
    #[serde(default)]
    #[allow(dead_code)] // accepted so the chunk qualifies, never read
    pub role: IgnoredAny,
    #[serde(borrow, default)]
    pub content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub reasoning_content: Option<Cow<'a, str>>,
    /// Only `null` (or absent): tool calls take the general path.
    #[serde(default)]
    #[allow(dead_code)] // accepted so the chunk qualifies, never read
    pub tool_calls: Option<Never>,
}

/// Deserialises from nothing: `Option<Never>` accepts only `null`.
pub(super) enum Never {}

impl<'de> Deserialize<'de> for Never {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("not on the fast path"))
    }
}

/// The chunk, if it has the common shape: one choice, index 0, no error.
pub(super) fn parse(data: &str) -> Option<Chunk<'_>> {
    let chunk: Chunk = serde_json::from_str(data).ok()?;
    let common = chunk.choices[0].index == 0 && chunk.object.as_deref() != Some("error");
    common.then_some(chunk)
}
