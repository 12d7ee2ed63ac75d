/// Splits text into pieces that approximate a BPE tokenizer's tokens, so that
/// offline replay feeds the monitor deltas of realistic size and token counts
/// come out close to what a model would have billed.
///
/// The rules, in order, applied at each position (every piece is a whole
/// number of chars, so no piece ever cuts a UTF-8 sequence):
/// 1. a run of newlines is one token (`"\n\n"` is one token in GPT-style
///    vocabularies);
/// 2. one optional leading space plus up to 6 ASCII letters is one token
///    (`" the"`, `" verif"` + `"y"`): common words are one token, long ones two
///    or three;
/// 3. up to 3 ASCII digits are one token (DeepSeek/GPT-4 digit grouping);
/// 4. any other run of spaces/tabs is one token;
/// 5. any other char (punctuation, a CJK ideograph, an emoji, a combining
///    mark) is one token.
///
/// On dev.jsonl this gives about 1.3 tokens per English word, the usual
/// figure for these tokenizers; it is deterministic and has no vocabulary.
pub fn approx_tokens(text: &str) -> impl Iterator<Item = &str> {
    ApproxTokens { rest: text }
}

struct ApproxTokens<'a> {
    rest: &'a str,
}

const MAX_LETTERS: usize = 6;
const MAX_DIGITS: usize = 3;

impl<'a> Iterator for ApproxTokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.rest.as_bytes();
        let first = *bytes.first()?;
        let len = match first {
            b'\n' => bytes.iter().take_while(|&&b| b == b'\n').count(),
            b' ' if bytes.get(1).is_some_and(u8::is_ascii_alphabetic) => {
                1 + run(&bytes[1..], u8::is_ascii_alphabetic, MAX_LETTERS)
            }
            b if b.is_ascii_alphabetic() => run(bytes, u8::is_ascii_alphabetic, MAX_LETTERS),
            b if b.is_ascii_digit() => run(bytes, u8::is_ascii_digit, MAX_DIGITS),
            b' ' | b'\t' => run(bytes, |b| *b == b' ' || *b == b'\t', usize::MAX),
            _ => self.rest.chars().next().map_or(1, char::len_utf8),
        };
        let (piece, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(piece)
    }
}

fn run(bytes: &[u8], pred: impl Fn(&u8) -> bool, max: usize) -> usize {
    bytes
        .iter()
        .take(max)
        .take_while(|b| pred(b))
        .count()
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_text_in_order() {
        let text = "Wait, 12345 is \\frac{1}{2}.\n\nVerification 漢字 👍🏽 é";
        let pieces: Vec<&str> = approx_tokens(text).collect();
        assert_eq!(pieces.concat(), text);
        assert!(pieces.contains(&"Wait"));
        assert!(pieces.contains(&"123"));
        assert!(pieces.contains(&"\n\n"));
        assert!(pieces.contains(&"漢"));
        assert!(pieces.contains(&" Verif") || pieces.contains(&"Verifi"));
    }
}
