"""Drives selfbrake's passthrough routes with the official `openai` and
`anthropic` clients; prints what each saw as JSON.

Usage: python passthrough_clients.py PROXY_ROOT MODEL API_KEY
Called by tests/tests/python_clients.rs, which asserts on the output and on
what the mock upstream received.
"""
import json
import sys

import anthropic
from openai import OpenAI


def main():
    root, model, key = sys.argv[1], sys.argv[2], sys.argv[3]
    client = OpenAI(base_url=root + "/v1", api_key=key, max_retries=0, timeout=30)
    out = {}

    completion = client.completions.create(model=model, prompt="2+2=", max_tokens=4)
    out["completion"] = {"text": completion.choices[0].text, "model": completion.model}
    pieces = client.completions.create(model=model, prompt="2+2=", max_tokens=4, stream=True)
    out["completion_stream"] = "".join(c.choices[0].text for c in pieces if c.choices)

    embedding = client.embeddings.create(model=model, input="two plus two")
    out["embedding"] = embedding.data[0].embedding

    # A stateless request is braked (run as chat); the SDK's accumulating
    # stream helper must accept selfbrake's events.
    response = client.responses.create(model=model, input="What is 2+2?")
    out["response"] = {
        "text": response.output_text,
        "status": response.status,
        "reasoning": response.output[0].content[0].text,
        "types": [item.type for item in response.output],
    }
    kinds, reasoning, text = [], [], []
    with client.responses.stream(model=model, input="What is 2+2?") as events:
        for event in events:
            kinds.append(event.type)
            if event.type == "response.reasoning_text.delta":
                reasoning.append(event.delta)
            elif event.type == "response.output_text.delta":
                text.append(event.delta)
        final = events.get_final_response()
    out["response_stream"] = {
        "reasoning": "".join(reasoning),
        "text": "".join(text),
        "final_text": final.output_text,
        "last": kinds[-1] if kinds else None,
    }
    # One that builds on a stored response is the backend's own.
    stored = client.responses.create(
        model=model, input="And 3+3?", previous_response_id="resp_1"
    )
    out["response_passthrough"] = stored.output_text

    claude = anthropic.Anthropic(base_url=root, api_key=key, max_retries=0, timeout=30)
    message = claude.messages.create(
        model=model, max_tokens=16, messages=[{"role": "user", "content": "2+2?"}]
    )
    out["message"] = {"text": message.content[0].text, "stop": message.stop_reason}
    with claude.messages.stream(
        model=model, max_tokens=16, messages=[{"role": "user", "content": "2+2?"}]
    ) as stream:
        streamed = "".join(stream.text_stream)
    out["message_stream"] = streamed

    print(json.dumps(out))


if __name__ == "__main__":
    main()
