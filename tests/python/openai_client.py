"""Drives selfbrake with the official `openai` client; prints what it saw as JSON.

Usage: python openai_client.py BASE_URL MODEL
Called by tests/tests/openai_client.rs, which asserts on the output.
"""
import json
import sys

from openai import OpenAI


def extra(obj, name):
    value = getattr(obj, name, None)
    if value is None and getattr(obj, "model_extra", None):
        value = obj.model_extra.get(name)
    return value


def main():
    base_url, model = sys.argv[1], sys.argv[2]
    client = OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=30)
    messages = [{"role": "user", "content": "What is 6 times 7?"}]

    full = client.chat.completions.create(model=model, messages=messages)
    message = full.choices[0].message
    out = {
        "nonstream": {
            "id": full.id,
            "content": message.content,
            "reasoning": extra(message, "reasoning_content"),
            "finish_reason": full.choices[0].finish_reason,
            "usage": full.usage.model_dump() if full.usage else None,
            "selfbrake": extra(full, "selfbrake"),
        }
    }

    stream = client.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    ids, reasoning, content, finish, last = set(), [], [], None, None
    for chunk in stream:
        ids.add(chunk.id)
        if chunk.choices:
            delta = chunk.choices[0].delta
            piece = extra(delta, "reasoning_content")
            if piece:
                reasoning.append(piece)
            if delta.content:
                content.append(delta.content)
            if chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        last = chunk
    out["stream"] = {
        "ids": sorted(ids),
        "content": "".join(content),
        "reasoning": "".join(reasoning),
        "finish_reason": finish,
        "usage": last.usage.model_dump() if last is not None and last.usage else None,
        "selfbrake": extra(last, "selfbrake") if last is not None else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
