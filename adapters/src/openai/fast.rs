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

use serde::de::{IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
pub(super) struct Chunk<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub object: Option<Cow<'a, str>>,
    #[serde(default)]
    pub created: Option<u64>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
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
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Delta<'a> {
    #[serde(default)]
    #[allow(dead_code)] // accepted so the chunk qualifies, never read
    pub role: IgnoredAny,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub reasoning_content: Option<Cow<'a, str>>,
    /// Only `null` (or absent): tool calls take the general path.
    #[serde(default)]
    #[allow(dead_code)] // accepted so the chunk qualifies, never read
    pub tool_calls: Option<Never>,
}

/// A string borrowed from the chunk unless it has escapes. serde's own
/// `Option<Cow<str>>` always allocates (its `borrow` reaches only a bare
/// `Cow` field): four allocations per token for the id, object, model and
/// text of every chunk.
fn borrowed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or null")
        }

        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }

        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }

        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    d.deserialize_option(Text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_escaped_text_is_decoded() {
        let chunk = parse(
            r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"reasoning":"plain","content":"a\n\"b\""}}]}"#,
        )
        .unwrap();
        assert!(matches!(chunk.id, Some(Cow::Borrowed("c1"))));
        let delta = chunk.choices[0].delta.as_ref().unwrap();
        assert!(matches!(delta.reasoning, Some(Cow::Borrowed("plain"))));
        assert_eq!(delta.content.as_deref(), Some("a\n\"b\""));
    }

    #[test]
    fn null_and_absent_text_are_none() {
        let chunk =
            parse(r#"{"choices":[{"index":0,"delta":{"content":null},"finish_reason":null}]}"#)
                .unwrap();
        let delta = chunk.choices[0].delta.as_ref().unwrap();
        assert!(delta.content.is_none() && delta.reasoning.is_none());
        assert!(chunk.choices[0].finish_reason.is_none() && chunk.model.is_none());
    }

    #[test]
    fn text_that_is_not_a_string_leaves_the_fast_path() {
        assert!(parse(r#"{"choices":[{"index":0,"delta":{"content":5}}]}"#).is_none());
        assert!(parse(r#"{"choices":[{"index":0,"delta":{"content":["x"]}}]}"#).is_none());
    }
}
