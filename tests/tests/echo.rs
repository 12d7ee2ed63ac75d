//! A prefill continuation against an upstream that echoes the prefix (as
//! llama.cpp's server does): the client's answer is the new text only, the
//! same as from an upstream that does not echo.
mod common;

use std::time::Duration;

use common::{assemble, config, read_sse, request, Proxy};
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};
use serde_json::Value;

const STATEMENT: &str = "Wait, I've verified my answer. No need to continue thinking.";
const ANSWER: &str = "The final answer is $\\boxed{540}$.";

fn prefill_config(base_url: &str) -> String {
    config(
        base_url,
        &format!(
            "brake_statement = \"{STATEMENT}\"\nanswer_max_tokens = 64\nrules = [{{ kind = \"budget\", max_reasoning_tokens = 30 }}]"
        ),
    )
    .replace(
        "idle_timeout_ms = 2000\n",
        "idle_timeout_ms = 2000\ncontinuation = \"prefill\"\n",
    )
}

async fn mock(echo: bool) -> MockUpstream {
    let script = Script::from_trace(&trace("r1-gsm8k-1")).delay(Duration::from_millis(1));
    MockUpstream::start(MockConfig {
        continuation_echo: echo,
        ..MockConfig::with_script(script)
    })
    .await
}

#[tokio::test]
async fn echoed_prefix_is_not_part_of_the_streamed_answer() {
    for echo in [true, false] {
        let mock = mock(echo).await;
        let proxy = Proxy::start(&prefill_config(&mock.base_url())).await;
        let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
        assert!(got.done && got.error.is_none(), "echo={echo}");
        assert_eq!(got.content, ANSWER, "echo={echo}");
        assert!(got.reasoning.ends_with(STATEMENT), "echo={echo}");
        assert_eq!(
            got.reasoning.matches(STATEMENT).count(),
            1,
            "echo={echo}: the statement once"
        );
        let report = got.selfbrake.expect("selfbrake");
        assert_eq!(report["braked"], true);
        assert_eq!(report["answer_source"], "continuation");

        // The mock did echo: the prefill request was a plain trailing
        // assistant message (no vLLM flags).
        let bodies = mock.chat_bodies();
        assert_eq!(bodies.len(), 2);
        let last = bodies[1]["messages"].as_array().unwrap().last().unwrap();
        assert_eq!(last["role"], "assistant");
        assert!(bodies[1].get("continue_final_message").is_none());
    }
}

#[tokio::test]
async fn echoed_prefix_is_not_part_of_the_non_stream_answer() {
    let mock = mock(true).await;
    let proxy = Proxy::start(&prefill_config(&mock.base_url())).await;
    let body: Value = proxy.chat(&request(false)).await.json().await.unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], ANSWER, "{body}");
    let reasoning = message["reasoning_content"].as_str().unwrap();
    assert!(reasoning.ends_with(STATEMENT), "{reasoning:?}");
    assert!(!reasoning.contains("</think>"), "{reasoning:?}");
    assert_eq!(body["selfbrake"]["braked"], true);
}
