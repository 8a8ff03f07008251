"""Non-streamed answers and error bodies, upstream shape → client shape."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from plano_extproc.wire import Translation, TranslationError, translate_response
from plano_extproc.wire.lenient import json_bytes
from tests.wire.support import CREATED

CHAT = Translation.CHAT_TO_ANTHROPIC
MESSAGES = Translation.MESSAGES_TO_OPENAI
RESPONSES = Translation.RESPONSES_TO_ANTHROPIC


def translate(translation: Translation, body: Any, status: int | None = None) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return orjson.loads(translate_response(translation, raw, status=status, created=CREATED))


def anthropic_message(content: list[dict[str, Any]], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01A",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 2,
            "cache_read_input_tokens": 3,
            "output_tokens": 7,
        },
    }


TEXT_TOOL_TEXT = [
    {"type": "thinking", "thinking": "hmm", "signature": "s"},
    {"type": "text", "text": "Let me check."},
    {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
    {"type": "text", "text": " Done."},
]


def test_anthropic_message_to_chat_completion() -> None:
    assert translate(CHAT, anthropic_message(TEXT_TOOL_TEXT, "tool_use")) == {
        "id": "msg_01A",
        "object": "chat.completion",
        "created": CREATED,
        "model": "claude-sonnet-4",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check. Done.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 15,
            "completion_tokens": 7,
            "total_tokens": 22,
            "prompt_tokens_details": {"cached_tokens": 3},
        },
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_anthropic_stop_reasons_as_finish_reasons(stop: str | None, finish: str) -> None:
    body = anthropic_message([], "end_turn") | {"stop_reason": stop}

    out = translate(CHAT, body)

    assert out["choices"][0]["finish_reason"] == finish
    assert out["choices"][0]["message"]["content"] is None


def chat_completion(message: dict[str, Any], finish: str | None = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1_600_000_000,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 5,
            "total_tokens": 35,
            "prompt_tokens_details": {"cached_tokens": 10},
        },
    }


def test_chat_completion_to_anthropic_message() -> None:
    message = {
        "role": "assistant",
        "content": "Sure.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
            {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": ""}},
            {"id": "call_3", "type": "function", "function": {"name": "h", "arguments": '{"cut'}},
        ],
    }

    assert translate(MESSAGES, chat_completion(message, "tool_calls")) == {
        "id": "chatcmpl-9",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o",
        "content": [
            {"type": "text", "text": "Sure."},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
            {"type": "tool_use", "id": "call_2", "name": "g", "input": {}},
            {"type": "tool_use", "id": "call_3", "name": "h", "input": {"_raw": '{"cut'}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
        },
    }


@pytest.mark.parametrize(
    ("finish", "tool_calls", "stop"),
    [
        ("stop", False, "end_turn"),
        ("length", False, "max_tokens"),
        ("tool_calls", True, "tool_use"),
        ("function_call", False, "tool_use"),
        ("content_filter", False, "refusal"),
        # Ollama finishes tool-call turns with "stop".
        ("stop", True, "tool_use"),
        (None, False, "end_turn"),
    ],
)
def test_finish_reasons_as_anthropic_stop_reasons(
    finish: str | None, tool_calls: bool, stop: str
) -> None:
    message: dict[str, Any] = {"role": "assistant", "content": "x"}
    if tool_calls:
        message["tool_calls"] = [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]

    assert translate(MESSAGES, chat_completion(message, finish))["stop_reason"] == stop


@pytest.mark.parametrize(
    ("message", "content"),
    [
        ({"role": "assistant", "content": [{"type": "text", "text": "a"}, {"text": "b"}]}, "ab"),
        ({"role": "assistant", "content": None, "refusal": "I can't"}, "I can't"),
        ({"role": "assistant", "content": ""}, None),
    ],
)
def test_chat_message_content_forms(message: dict[str, Any], content: str | None) -> None:
    blocks = translate(MESSAGES, chat_completion(message))["content"]

    assert blocks == ([] if content is None else [{"type": "text", "text": content}])


def test_a_sparse_chat_completion_still_translates() -> None:
    assert translate(MESSAGES, {"choices": []}) == {
        "id": "",
        "type": "message",
        "role": "assistant",
        "model": "",
        "content": [],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def test_anthropic_message_to_responses_object() -> None:
    usage = {
        "input_tokens": 15,
        "input_tokens_details": {"cached_tokens": 3},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 22,
    }

    assert translate(RESPONSES, anthropic_message(TEXT_TOOL_TEXT, "tool_use")) == {
        "id": "resp_01A",
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "claude-sonnet-4",
        "output": [
            {
                "type": "message",
                "id": "msg_01A_0",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}],
            },
            {
                "type": "function_call",
                "id": "fc_01A_1",
                "call_id": "toolu_1",
                "name": "lookup",
                "arguments": '{"q":"x"}',
                "status": "completed",
            },
            {
                "type": "message",
                "id": "msg_01A_2",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": " Done.", "annotations": []}],
            },
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def test_empty_text_makes_no_message_item() -> None:
    body = anthropic_message([{"type": "text", "text": ""}])

    assert translate(RESPONSES, body)["output"] == []
    assert translate(CHAT, body)["choices"][0]["message"]["content"] == ""


@pytest.mark.parametrize(
    ("stop", "status", "details"),
    [
        ("end_turn", "completed", None),
        ("max_tokens", "incomplete", {"reason": "max_output_tokens"}),
        ("refusal", "incomplete", {"reason": "content_filter"}),
    ],
)
def test_responses_status(stop: str, status: str, details: Any) -> None:
    out = translate(RESPONSES, anthropic_message([{"type": "text", "text": "x"}], stop))

    assert (out["status"], out["incomplete_details"]) == (status, details)


def test_created_defaults_to_now() -> None:
    before = int(time.time())
    raw = translate_response(CHAT, orjson.dumps(anthropic_message([])))
    assert before <= orjson.loads(raw)["created"] <= int(time.time())


def test_chat_upstream_keeps_its_own_created() -> None:
    raw = translate_response(MESSAGES, orjson.dumps(chat_completion({"content": "x"})))
    assert orjson.loads(raw)["id"] == "chatcmpl-9"


ANTHROPIC_OVERLOADED = {
    "type": "error",
    "error": {"type": "overloaded_error", "message": "Overloaded"},
}


@pytest.mark.parametrize(
    ("translation", "body", "status", "expected"),
    [
        (
            CHAT,
            ANTHROPIC_OVERLOADED,
            529,
            {
                "error": {
                    "message": "Overloaded",
                    "type": "server_error",
                    "param": None,
                    "code": "overloaded",
                }
            },
        ),
        (
            RESPONSES,
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
            429,
            {
                "error": {
                    "message": "slow down",
                    "type": "rate_limit_error",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
        ),
        (
            CHAT,
            {"type": "error", "error": {"type": "billing_error", "message": "pay"}},
            None,
            {
                "error": {
                    "message": "pay",
                    "type": "permission_error",
                    "param": None,
                    "code": None,
                }
            },
        ),
        (
            CHAT,
            {"type": "error", "error": {"type": "brand_new_error", "message": "?"}},
            413,
            {
                "error": {
                    "message": "?",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "request_too_large",
                }
            },
        ),
        (
            MESSAGES,
            {
                "error": {
                    "message": "Incorrect API key provided",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            401,
            {
                "type": "error",
                "error": {"type": "authentication_error", "message": "Incorrect API key provided"},
            },
        ),
        (
            MESSAGES,
            {"error": {"message": "quota", "type": "insufficient_quota", "code": None}},
            429,
            {"type": "error", "error": {"type": "rate_limit_error", "message": "quota"}},
        ),
        (
            MESSAGES,
            {"error": {"message": "context too long", "type": "x", "code": "y"}},
            400,
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "context too long"},
            },
        ),
        (
            MESSAGES,
            {
                "object": "error",
                "message": "model not loaded",
                "type": "NotFoundError",
                "code": 404,
            },
            404,
            {"type": "error", "error": {"type": "not_found_error", "message": "model not loaded"}},
        ),
        (
            MESSAGES,
            {"error": "backend exploded"},
            500,
            {"type": "error", "error": {"type": "api_error", "message": "backend exploded"}},
        ),
        (
            MESSAGES,
            {"detail": "nope"},
            503,
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "the upstream answered HTTP 503"},
            },
        ),
        (
            MESSAGES,
            b"<html>Bad Gateway</html>",
            502,
            {
                "type": "error",
                "error": {
                    "type": "api_error",
                    "message": "the upstream answered HTTP 502: <html>Bad Gateway</html>",
                },
            },
        ),
        (
            CHAT,
            b"",
            504,
            {
                "error": {
                    "message": "the upstream answered HTTP 504",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        ),
        (
            MESSAGES,
            b"upstream connect error",
            418,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "the upstream answered HTTP 418: upstream connect error",
                },
            },
        ),
    ],
)
def test_error_bodies(
    translation: Translation, body: Any, status: int | None, expected: Any
) -> None:
    assert translate(translation, body, status) == expected


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_unreadable_success_body_raises(body: bytes) -> None:
    with pytest.raises(TranslationError, match="the upstream response body is not"):
        translate_response(CHAT, body, status=200)


def test_a_value_too_deep_to_reencode_raises() -> None:
    deep: Any = {}
    for _ in range(5000):
        deep = {"a": deep}

    with pytest.raises(TranslationError, match="cannot be re-encoded"):
        json_bytes(deep)
