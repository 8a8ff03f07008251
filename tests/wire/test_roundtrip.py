"""Round trips through two translations keep what both APIs can express."""

from __future__ import annotations

from typing import Any

import orjson

from plano_extproc.wire import Translation, translate_response
from tests.wire.support import ANTHROPIC_TEXT_THEN_TOOL, CREATED, frames, translated_body, whole

CHAT = Translation.CHAT_TO_ANTHROPIC
MESSAGES = Translation.MESSAGES_TO_OPENAI
RESPONSES = Translation.RESPONSES_TO_ANTHROPIC


def request_round_trip(first: Translation, body: dict[str, Any]) -> dict[str, Any]:
    anthropic = orjson.loads(translated_body(first, body, model="claude"))
    result: dict[str, Any] = orjson.loads(translated_body(MESSAGES, anthropic, model="gpt"))
    return result


CHAT_REQUEST: dict[str, Any] = {
    "model": "gpt",
    "messages": [
        {"role": "system", "content": "rules"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "next"},
    ],
    "max_completion_tokens": 99,
    "temperature": 0.4,
    "top_p": 0.7,
    "stop": ["X"],
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [
        {
            "type": "function",
            "function": {"name": "f", "description": "d", "parameters": {"type": "object"}},
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "parallel_tool_calls": False,
    "user": "u",
}


def test_chat_request_survives_anthropic_and_back() -> None:
    assert request_round_trip(CHAT, CHAT_REQUEST) == CHAT_REQUEST | {
        "model": "gpt",
        "max_completion_tokens": 99,
    }


def test_responses_request_through_anthropic_reads_as_chat() -> None:
    body = {
        "instructions": "rules",
        "input": [
            {"role": "user", "content": "weather?"},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"c":"x"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "rain"},
        ],
        "max_output_tokens": 10,
        "tools": [{"type": "function", "name": "w", "parameters": {"type": "object"}}],
    }

    assert request_round_trip(RESPONSES, body) == {
        "model": "gpt",
        "messages": [
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"c":"x"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "rain"},
        ],
        "max_completion_tokens": 10,
        "tools": [
            {"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}
        ],
    }


def test_anthropic_message_survives_chat_and_back() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": [1, {"b": None}]}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 5,
            "output_tokens": 3,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 2,
        },
    }

    chat = translate_response(CHAT, orjson.dumps(message), created=CREATED)

    assert orjson.loads(translate_response(MESSAGES, chat)) == message


def accumulate_anthropic(raw: bytes) -> dict[str, Any]:
    """What an Anthropic SDK would build from a stream."""
    blocks: dict[int, dict[str, Any]] = {}
    result: dict[str, Any] = {}
    for name, data in frames(raw):
        if name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"]) | {"json": ""}
        elif name == "content_block_delta":
            delta, block = data["delta"], blocks[data["index"]]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                block["json"] += delta["partial_json"]
        elif name == "message_delta":
            result = {"stop_reason": data["delta"]["stop_reason"], "usage": data["usage"]}
    content = [
        {"type": "text", "text": block["text"]}
        if block["type"] == "text"
        else {
            "type": "tool_use",
            "id": block["id"],
            "name": block["name"],
            "input": orjson.loads(block["json"]),
        }
        for _, block in sorted(blocks.items())
    ]
    return result | {"content": content}


def test_anthropic_stream_survives_chat_chunks_and_back() -> None:
    chat = whole(CHAT, ANTHROPIC_TEXT_THEN_TOOL, include_usage=True)

    assert accumulate_anthropic(whole(MESSAGES, chat)) == {
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 12,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 5,
        },
        "content": [
            {"type": "text", "text": "Héllo ✓"},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
        ],
    }
