use serde::Deserialize;

use super::{CLOSE_THINK, OPEN_THINK};

/// How the kept reasoning is written into the assistant prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PrefixFormat {
    /// `<think>\n{reasoning}\n</think>\n\n`
    #[default]
    ThinkTags,
    /// `{reasoning}\n</think>\n\n`: the chat template already opened `<think>`.
    CloseOnly,
}

impl PrefixFormat {
    /// Characters the format adds around the reasoning. Usage accounting
    /// needs it to recover the first call's prompt size from the
    /// continuation's.
    pub fn wrapping_len(self) -> usize {
        let close = 1 + CLOSE_THINK.len() + 2;
        match self {
            PrefixFormat::ThinkTags => OPEN_THINK.len() + 1 + close,
            PrefixFormat::CloseOnly => close,
        }
    }
}

/// The assistant prefix the model continues from: the kept reasoning in a
/// closed think block, so that what follows is the answer.
pub fn prefix(format: PrefixFormat, reasoning: &str) -> String {
    match format {
        PrefixFormat::ThinkTags => format!("{OPEN_THINK}\n{reasoning}\n{CLOSE_THINK}\n\n"),
        PrefixFormat::CloseOnly => format!("{reasoning}\n{CLOSE_THINK}\n\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_only_leaves_the_opening_to_the_template() {
        assert_eq!(prefix(PrefixFormat::CloseOnly, "r"), "r\n</think>\n\n");
    }

    #[test]
    fn wrapping_len_is_what_each_format_adds() {
        for format in [PrefixFormat::ThinkTags, PrefixFormat::CloseOnly] {
            let reasoning = "some kept reasoning";
            assert_eq!(
                prefix(format, reasoning).len(),
                reasoning.len() + format.wrapping_len()
            );
        }
    }
}
