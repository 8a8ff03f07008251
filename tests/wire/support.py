"""Shared helpers for the wire tests: parsing client bodies as the server does, upstream streams
as providers send them, and readers for what the translators emit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import (
    InvalidRequest,
    ParsedRequest,
    Translation,
    parse_body,
    parse_request,
    read_transcript,
    stream_translator,
    translate_request,
)
from plano_extproc.wire.sse import SseParser


def parse(api: ClientApi, body: dict[str, Any]) -> ParsedRequest:
    """Parse through the raw-bytes entry point, as the server does."""
    return parse_request(api, orjson.dumps(body))


def assert_invalid(
    api: ClientApi, body: object, message: str, reason: str, status: int = 400
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_body(api, body)
    error = caught.value
    assert (error.message, error.reason, error.status) == (message, reason, status)
    assert error.to_json() == {
        "error": {"code": "InvalidRequest", "message": message, "details": {"reason": reason}}
    }


def translated_body(translation: Translation, body: dict[str, Any], *, model: str) -> bytes:
    """The upstream body for a client body, read once as the gateway reads it."""
    return translate_request(
        translation, body, read_transcript(translation.client, body), model=model
    )


CREATED = 1_700_000_000
# A non-streamed Chat Completions answer, as an OpenAI-compatible upstream sends it.
CHAT_COMPLETION = {
    "id": "chatcmpl-9",
    "object": "chat.completion",
    "created": CREATED,
    "model": "claude-sonnet-4",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}


def anthropic_stream(*events: dict[str, Any]) -> bytes:
    return b"".join(
        b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
        for event in events
    )


def chat_stream(*chunks: dict[str, Any], done: bool = True) -> bytes:
    frames = b"".join(b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks)
    return frames + (b"data: [DONE]\n\n" if done else b"")


def chat_chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o",
        "choices": choices,
        **extra,
    }


def frames(raw: bytes) -> list[tuple[str, Any]]:
    """The (event name, decoded data) of each frame; `[DONE]` stays a string."""
    parser = SseParser()
    events = parser.feed(raw) + parser.close()
    return [
        (event.event, event.data if event.data == "[DONE]" else orjson.loads(event.data))
        for event in events
    ]


def translate_stream(
    translation: Translation,
    chunks: list[bytes],
    *,
    include_usage: bool = False,
) -> bytes:
    translator = stream_translator(translation, include_usage=include_usage, created=CREATED)
    return b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish()


def whole(translation: Translation, raw: bytes, **options: Any) -> bytes:
    return translate_stream(translation, [raw], **options)


def bytewise(translation: Translation, raw: bytes, **options: Any) -> bytes:
    return translate_stream(translation, [raw[i : i + 1] for i in range(len(raw))], **options)


# A text block, then a tool call, from Anthropic, with cache usage.
ANTHROPIC_TEXT_THEN_TOOL = anthropic_stream(
    {
        "type": "message_start",
        "message": {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Héllo "},
    },
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "✓"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"q": '},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '"x"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"type": "tool_use", "stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 12},
    },
    {"type": "message_stop"},
)

# Text, then two tool calls named by index, then finish and a usage chunk.
CHAT_TEXT_THEN_TOOLS = chat_stream(
    chat_chunk({"role": "assistant", "content": ""}),
    chat_chunk({"content": "Let me "}),
    chat_chunk({"content": "check ✓"}),
    chat_chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": ""},
                }
            ]
        }
    ),
    chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q":'}}]}),
    chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]}),
    chat_chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "fetch", "arguments": '{"u":1}'},
                }
            ]
        }
    ),
    chat_chunk({}, "tool_calls"),
    chat_chunk(
        None,
        usage={
            "prompt_tokens": 20,
            "completion_tokens": 7,
            "total_tokens": 27,
            "prompt_tokens_details": {"cached_tokens": 4},
        },
    ),
)
