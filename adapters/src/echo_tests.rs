use futures::StreamExt;

use super::*;
use crate::Usage;

const PREFIX: &str =
    "<think>\nThe sum is 4 — done.\n\nWait, I've verified my answer.\n</think>\n\n";

/// Feeds `pieces` (all content) and settles: what passes on, concatenated.
fn run(prefix: &str, pieces: &[&str]) -> Vec<Piece> {
    let mut echo = EchoStripper::new(prefix);
    let mut out = Vec::new();
    for p in pieces {
        out.extend(echo.push(TextKind::Content, p));
    }
    out.extend(echo.settle());
    out
}

fn text(pieces: &[Piece]) -> String {
    pieces.iter().map(|(_, t)| t.as_str()).collect()
}

/// Every way to cut `s` in two at a character boundary.
fn cuts(s: &str) -> impl Iterator<Item = (&str, &str)> {
    (0..=s.len())
        .filter(|&i| s.is_char_boundary(i))
        .map(move |i| s.split_at(i))
}

#[test]
fn whole_echo_in_one_delta_is_removed() {
    let first = format!("{PREFIX}The");
    let out = run(PREFIX, &[&first, " answer is 4."]);
    assert_eq!(text(&out), "The answer is 4.");
}

#[test]
fn echo_split_across_deltas_at_every_boundary_is_removed() {
    let output = format!("{PREFIX}The answer is 4.");
    for (a, b) in cuts(&output) {
        let out = run(PREFIX, &[a, b]);
        assert_eq!(text(&out), "The answer is 4.", "cut after {:?}", a);
    }
    // One byte-sized piece at a time, multi-byte characters whole.
    let chars: Vec<String> = output.chars().map(String::from).collect();
    let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
    assert_eq!(text(&run(PREFIX, &refs)), "The answer is 4.");
}

#[test]
fn output_without_echo_passes_unchanged_and_unheld() {
    let mut echo = EchoStripper::new(PREFIX);
    let out = echo.push(TextKind::Content, "The answer");
    assert_eq!(out, vec![(TextKind::Content, "The answer".to_string())]);
    assert!(!echo.is_deciding());
    assert_eq!(
        echo.push(TextKind::Content, " is 4."),
        vec![(TextKind::Content, " is 4.".to_string())]
    );
}

#[test]
fn partial_match_then_divergence_is_released_intact() {
    // Begins like the prefix, then differs: every cut of the diverging text.
    let output = "<think>\nThe sum is 5, so the answer is 5.";
    for (a, b) in cuts(output) {
        let out = run(PREFIX, &[a, b]);
        assert_eq!(text(&out), output, "cut after {a:?}");
    }
    // The held pieces come back as they were sent.
    let out = run(PREFIX, &["<thi", "nk>\nThe", " sum is 5"]);
    assert_eq!(
        out,
        vec![
            (TextKind::Content, "<thi".to_string()),
            (TextKind::Content, "nk>\nThe".to_string()),
            (TextKind::Content, " sum is 5".to_string()),
        ]
    );
}

#[test]
fn output_ending_inside_the_prefix_is_released() {
    // The stream ends while the output is still a prefix of the prefix: a
    // short answer that happens to begin like it, not an echo.
    assert_eq!(text(&run(PREFIX, &["<think>\nThe"])), "<think>\nThe");
}

#[test]
fn empty_continuation_after_an_echo_is_empty() {
    assert!(run(PREFIX, &[PREFIX]).is_empty());
    let (a, b) = PREFIX.split_at(10);
    assert!(run(PREFIX, &[a, b]).is_empty());
    assert!(run(PREFIX, &[]).is_empty());
    assert!(run(PREFIX, &["", ""]).is_empty());
}

#[test]
fn echo_without_trailing_whitespace_is_removed() {
    // A template that trims the message echoes it without the final "\n\n".
    let trimmed = PREFIX.trim_end();
    let out = run(PREFIX, &[trimmed, "The answer is 4."]);
    assert_eq!(text(&out), "The answer is 4.");
    assert!(run(PREFIX, &[trimmed]).is_empty());
}

#[test]
fn echo_as_reasoning_then_content_is_removed() {
    let (a, b) = PREFIX.split_at(PREFIX.find("</think>").unwrap());
    let mut echo = EchoStripper::new(PREFIX);
    assert!(echo.push(TextKind::Reasoning, a).is_empty());
    let out = echo.push(TextKind::Content, &format!("{b}Four."));
    assert_eq!(out, vec![(TextKind::Content, "Four.".to_string())]);
}

#[test]
fn released_text_keeps_its_kind() {
    let mut echo = EchoStripper::new(PREFIX);
    assert!(echo.push(TextKind::Reasoning, "<think>\n").is_empty());
    let out = echo.push(TextKind::Content, "Four.");
    assert_eq!(
        out,
        vec![
            (TextKind::Reasoning, "<think>\n".to_string()),
            (TextKind::Content, "Four.".to_string()),
        ]
    );
}

#[test]
fn empty_prefix_passes_everything() {
    assert_eq!(text(&run("", &["<think>", "x"])), "<think>x");
}

fn events(list: Vec<BackendEvent>) -> EventStream {
    Box::pin(futures::stream::iter(list.into_iter().map(Ok)))
}

async fn collect(stream: EventStream) -> Vec<BackendEvent> {
    stream.map(|r| r.unwrap()).collect().await
}

#[tokio::test]
async fn stream_wrapper_removes_an_echo_and_keeps_other_events() {
    let meta = BackendEvent::Meta {
        id: "c".into(),
        model: "m".into(),
        created: 1,
    };
    let usage = BackendEvent::Usage(Usage::default());
    let (a, b) = PREFIX.split_at(7);
    let got = collect(strip_echo(
        events(vec![
            meta.clone(),
            BackendEvent::Content(a.into()),
            BackendEvent::Content(format!("{b}Fo")),
            BackendEvent::Content("ur.".into()),
            BackendEvent::Finish("stop".into()),
            usage.clone(),
        ]),
        PREFIX,
    ))
    .await;
    assert_eq!(
        got,
        vec![
            meta,
            BackendEvent::Content("Fo".into()),
            BackendEvent::Content("ur.".into()),
            BackendEvent::Finish("stop".into()),
            usage,
        ]
    );
}

#[tokio::test]
async fn stream_wrapper_releases_held_text_before_the_finish() {
    let got = collect(strip_echo(
        events(vec![
            BackendEvent::Content("<think>".into()),
            BackendEvent::Finish("length".into()),
        ]),
        PREFIX,
    ))
    .await;
    assert_eq!(
        got,
        vec![
            BackendEvent::Content("<think>".into()),
            BackendEvent::Finish("length".into()),
        ]
    );
    let got = collect(strip_echo(
        events(vec![BackendEvent::Content("<think>".into())]),
        PREFIX,
    ))
    .await;
    assert_eq!(got, vec![BackendEvent::Content("<think>".into())]);
}
