"""ConverseStream answers (AWS event-stream frames) translated to each client API's stream."""

from __future__ import annotations

import random
import struct
import zlib
from typing import Any

import orjson
import pytest

from plano_extproc.wire import Translation, stream_translator
from plano_extproc.wire.bedrock.eventstream import MAX_MESSAGE_BYTES
from tests.support.aws_eventstream import encode_message, event_message, exception_message
from tests.wire.support import CREATED, bytewise, frames, translate_stream, whole

CHAT = Translation.CHAT_TO_BEDROCK
MESSAGES = Translation.MESSAGES_TO_BEDROCK
RESPONSES = Translation.RESPONSES_TO_BEDROCK
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"

START = event_message("messageStart", {"role": "assistant", "p": "abcdef"})
TEXT = [
    START,
    event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Héllo "}}),
    event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "✓"}}),
    event_message("contentBlockStop", {"contentBlockIndex": 0}),
]
TOOL = [
    event_message(
        "contentBlockStart",
        {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "weather"}}},
    ),
    event_message(
        "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city"'}}}
    ),
    event_message(
        "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": ':"Oslo"}'}}}
    ),
    event_message("contentBlockStop", {"contentBlockIndex": 1}),
]
USAGE = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 19, "cacheReadInputTokens": 4}


def end(stop: str = "end_turn") -> list[bytes]:
    return [
        event_message("messageStop", {"stopReason": stop}),
        event_message("metadata", {"usage": USAGE, "metrics": {"latencyMs": 12}}),
    ]


TEXT_STREAM = b"".join([*TEXT, *end()])
TOOL_STREAM = b"".join([*TEXT, *TOOL, *end("tool_use")])


def chat_text(raw: bytes) -> str:
    return "".join(
        data["choices"][0]["delta"].get("content") or ""
        for _, data in frames(raw)
        if isinstance(data, dict) and data["choices"]
    )


def test_text_stream_to_chat() -> None:
    out = frames(whole(CHAT, TEXT_STREAM, include_usage=True))

    chunks = [data for _, data in out if isinstance(data, dict)]
    assert {chunk["id"] for chunk in chunks} == {chunks[0]["id"]}
    assert chunks[0]["id"].startswith("bedrock-")
    assert chat_text(whole(CHAT, TEXT_STREAM)) == "Héllo ✓"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["prompt_tokens"] == 14
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert out[-1] == ("", "[DONE]")


def test_tool_stream_to_chat() -> None:
    out = [data for _, data in frames(whole(CHAT, TOOL_STREAM)) if isinstance(data, dict)]

    calls = [call for chunk in out for call in chunk["choices"][0]["delta"].get("tool_calls") or []]
    assert calls[0] | {"function": None} == {
        "index": 0,
        "id": "t1",
        "type": "function",
        "function": None,
    }
    assert calls[0]["function"]["name"] == "weather"
    assert "".join(call["function"]["arguments"] for call in calls) == '{"city":"Oslo"}'
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_stream_to_messages() -> None:
    out = frames(whole(MESSAGES, TOOL_STREAM))

    assert [name for name, _ in out] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert out[5][1]["content_block"] == {
        "type": "tool_use",
        "id": "t1",
        "name": "weather",
        "input": {},
    }
    assert out[9][1]["delta"]["stop_reason"] == "tool_use"
    assert out[9][1]["usage"]["cache_read_input_tokens"] == 4


def test_tool_stream_to_responses() -> None:
    out = frames(whole(RESPONSES, TOOL_STREAM))

    completed = out[-1][1]
    assert out[-1][0] == "response.completed"
    assert [item["type"] for item in completed["response"]["output"]] == [
        "message",
        "function_call",
    ]
    call = completed["response"]["output"][1]
    assert (call["call_id"], call["arguments"]) == ("t1", '{"city":"Oslo"}')
    assert completed["response"]["usage"]["input_tokens"] == 14


def test_the_model_given_names_the_stream() -> None:
    translator = stream_translator(MESSAGES, created=CREATED, model=MODEL)

    out = frames(translator.feed(TEXT_STREAM) + translator.finish())

    assert out[0][1]["message"]["model"] == MODEL


@pytest.mark.parametrize("translation", [CHAT, MESSAGES, RESPONSES])
def test_byte_by_byte_and_random_splits_translate_as_whole(translation: Translation) -> None:
    expected = _without_ids(whole(translation, TOOL_STREAM))
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(TOOL_STREAM)), 25))
    bounds = zip([0, *cuts], [*cuts, len(TOOL_STREAM)], strict=True)

    assert _without_ids(bytewise(translation, TOOL_STREAM)) == expected
    chunks = [TOOL_STREAM[start:stop] for start, stop in bounds]
    assert _without_ids(translate_stream(translation, chunks)) == expected


def _without_ids(raw: bytes) -> bytes:
    """The stream with its generated answer id blanked out."""
    out = raw
    for _, data in frames(raw):
        if isinstance(data, dict):
            identifier = data.get("id") or data.get("message", data.get("response", {})).get("id")
            if identifier:
                out = out.replace(identifier.removeprefix("resp_").encode(), b"ID")
    return out


def test_metadata_missing_still_finishes_after_message_stop() -> None:
    raw = b"".join([*TEXT, event_message("messageStop", {"stopReason": "max_tokens"})])

    out = frames(whole(MESSAGES, raw))

    assert out[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert out[-1][0] == "message_stop"


@pytest.mark.parametrize(
    ("exception", "anthropic_type", "openai_type"),
    [
        ("throttlingException", "rate_limit_error", "rate_limit_error"),
        ("validationException", "invalid_request_error", "invalid_request_error"),
        ("modelStreamErrorException", "api_error", "server_error"),
        ("serviceUnavailableException", "overloaded_error", "server_error"),
        ("somethingNewException", "api_error", "server_error"),
    ],
)
def test_an_exception_ends_the_stream_with_the_clients_error(
    exception: str, anthropic_type: str, openai_type: str
) -> None:
    raw = b"".join([*TEXT, exception_message(exception, "slow down"), *end()])

    messages = frames(whole(MESSAGES, raw))
    chat = frames(whole(CHAT, raw))
    responses = frames(whole(RESPONSES, raw))

    assert messages[-1] == (
        "error",
        {"type": "error", "error": {"type": anthropic_type, "message": "slow down"}},
    )
    assert chat[-1][1]["error"]["type"] == openai_type
    assert chat[-1][1]["error"]["message"] == "slow down"
    assert [name for name, _ in responses[-2:]] == ["error", "response.failed"]


def test_an_error_message_ends_the_stream() -> None:
    error = encode_message(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "oops"}, b""
    )

    out = frames(whole(MESSAGES, b"".join([*TEXT, error])))

    assert out[-1][1]["error"] == {"type": "api_error", "message": "oops"}


def flipped(raw: bytes, index: int) -> bytes:
    changed = bytearray(raw)
    changed[index] ^= 0x01
    return bytes(changed)


def oversized_prelude() -> bytes:
    head = struct.pack(">II", MAX_MESSAGE_BYTES + 1, 0)
    return head + struct.pack(">I", zlib.crc32(head))


BROKEN = {
    "bad prelude CRC": flipped(TEXT[1], 10),
    "bad message CRC": flipped(TEXT[1], len(TEXT[1]) - 6),
    "truncated at the end": TEXT[1][:-3],
    "oversized length": oversized_prelude(),
}


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("feed", [whole, bytewise])
def test_broken_framing_ends_the_clients_stream_with_an_error(case: str, feed: Any) -> None:
    raw = START + BROKEN[case] + b"".join(end())

    messages = frames(feed(MESSAGES, raw))
    chat = frames(feed(CHAT, raw))

    assert messages[0][0] == "message_start"
    assert messages[-1][0] == "error"
    assert messages[-1][1]["error"]["message"].startswith("unreadable upstream stream: ")
    assert [name for name, _ in messages].count("message_stop") == 0
    assert chat[-1][1]["error"]["type"] == "server_error"


def test_events_before_a_corrupt_frame_in_the_same_chunk_are_kept() -> None:
    raw = b"".join(TEXT[:3]) + flipped(TEXT[3], len(TEXT[3]) - 1)

    out = frames(whole(MESSAGES, raw))

    texts = [data["delta"]["text"] for name, data in out if name == "content_block_delta"]
    assert texts == ["Héllo ", "✓"]
    assert out[-1][0] == "error"


def test_a_stream_cut_before_its_end_fails() -> None:
    out = frames(whole(MESSAGES, b"".join(TEXT)))

    assert out[-1][1]["error"]["message"] == (
        "the upstream stream ended before the answer was complete"
    )


def test_a_non_json_event_payload_fails_the_stream() -> None:
    bad = encode_message({":message-type": "event", ":event-type": "contentBlockDelta"}, b"{no")

    out = frames(whole(CHAT, START + bad))

    assert out[-1][1]["error"]["message"].startswith("unreadable upstream stream: ")


def test_input_after_the_end_is_ignored() -> None:
    translator = stream_translator(CHAT, created=CREATED)
    first = translator.feed(TEXT_STREAM)

    assert translator.ended
    assert translator.feed(b"garbage that is no frame at all") == b""
    assert translator.finish() == b""
    assert orjson.loads(first.split(b"\n\n")[0].removeprefix(b"data: "))["object"] == (
        "chat.completion.chunk"
    )
