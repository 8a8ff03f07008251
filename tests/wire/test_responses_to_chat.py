"""Responses clients on Chat Completions upstreams (Plano's choice for every provider but
OpenAI): the request, the answer, the stream and errors."""

from __future__ import annotations

import orjson

from plano_extproc.wire import Translation, translate_response
from tests.wire.support import (
    CHAT_COMPLETION,
    CHAT_TEXT_THEN_TOOLS,
    CREATED,
    frames,
    translated_body,
    whole,
)

RESPONSES_TO_CHAT = Translation.RESPONSES_TO_OPENAI


def test_request_becomes_chat_completions() -> None:
    body = {
        "model": "claude-sonnet-4-20250514",
        "instructions": "be brief",
        "input": [{"role": "user", "content": "hello"}],
        "max_output_tokens": 50,
        "stream": True,
    }
    sent = orjson.loads(translated_body(RESPONSES_TO_CHAT, body, model="claude-sonnet-4"))
    assert sent["model"] == "claude-sonnet-4"
    assert sent["messages"][-1] == {"role": "user", "content": "hello"}
    assert sent["stream"] is True
    assert "input" not in sent
    assert "instructions" not in sent


def test_chat_completion_becomes_a_response() -> None:
    completion = CHAT_COMPLETION
    answer = orjson.loads(
        translate_response(RESPONSES_TO_CHAT, orjson.dumps(completion), created=CREATED)
    )
    assert answer["object"] == "response"
    assert answer["status"] == "completed"
    assert answer["output"][0]["content"][0]["text"] == "Hi there."
    assert answer["usage"]["input_tokens"] == 5
    assert answer["usage"]["output_tokens"] == 3


def test_chat_error_becomes_an_openai_error_body() -> None:
    error = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    answer = orjson.loads(translate_response(RESPONSES_TO_CHAT, orjson.dumps(error), status=429))
    assert answer["error"]["message"] == "slow down"


def test_chat_stream_becomes_responses_events() -> None:
    out = frames(whole(RESPONSES_TO_CHAT, CHAT_TEXT_THEN_TOOLS))
    names = [name for name, _ in out]
    assert names[0] == "response.created"
    assert names[-1] == "response.completed"
    assert "response.output_text.delta" in names
    assert "response.function_call_arguments.delta" in names
    assert [data["sequence_number"] for _, data in out] == list(range(len(out)))
