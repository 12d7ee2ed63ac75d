use selfbrake_adapters::Usage;

/// Usage of a braked request: both upstream calls summed.
///
/// The first call is dropped at the brake, before the upstream sends its
/// usage, so its prompt size is recovered from the continuation's: that
/// prompt is the original one plus the kept reasoning (whose tokens we
/// counted as they streamed) plus the statement and tags, estimated at four
/// characters a token.
pub fn braked(
    reasoning_tokens: u64,
    prefix_extra_chars: usize,
    continuation: Option<Usage>,
) -> Usage {
    let Some(cont) = continuation else {
        return Usage {
            prompt_tokens: 0,
            completion_tokens: reasoning_tokens,
            total_tokens: reasoning_tokens,
            reasoning_tokens: Some(reasoning_tokens),
        };
    };
    let extra = prefix_extra_chars.div_ceil(4) as u64;
    let first_prompt = cont.prompt_tokens.saturating_sub(reasoning_tokens + extra);
    let prompt_tokens = first_prompt + cont.prompt_tokens;
    let completion_tokens = reasoning_tokens + cont.completion_tokens;
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
        reasoning_tokens: Some(reasoning_tokens),
    }
}

/// Usage of an unbraked request: the upstream's, with reasoning tokens filled in.
pub fn unbraked(upstream: Option<Usage>, reasoning_tokens: u64, answer_chunks: u64) -> Usage {
    match upstream {
        Some(mut u) => {
            u.reasoning_tokens.get_or_insert(reasoning_tokens);
            u
        }
        None => Usage {
            prompt_tokens: 0,
            completion_tokens: reasoning_tokens + answer_chunks,
            total_tokens: reasoning_tokens + answer_chunks,
            reasoning_tokens: Some(reasoning_tokens),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braked_usage_sums_both_calls() {
        let cont = Usage {
            prompt_tokens: 100 + 40 + 5,
            completion_tokens: 12,
            total_tokens: 157,
            reasoning_tokens: None,
        };
        let u = braked(40, 20, Some(cont));
        assert_eq!(u.prompt_tokens, 100 + 145);
        assert_eq!(u.completion_tokens, 52);
        assert_eq!(u.total_tokens, u.prompt_tokens + u.completion_tokens);
        assert_eq!(u.reasoning_tokens, Some(40));
    }
}
