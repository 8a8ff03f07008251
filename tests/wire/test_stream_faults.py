"""Stream translation when the upstream misbehaves: errors, truncation, unreadable or oversized
events and odd but valid streams."""

from __future__ import annotations

import logging

import pytest

from plano_extproc.wire import Translation, stream_translator
from tests.wire.stream_support import (
    CHAT,
    MESSAGE_START,
    MESSAGES,
    RESPONSES,
    message_delta,
    text_delta,
    types,
)
from tests.wire.support import (
    ANTHROPIC_TEXT_THEN_TOOL,
    CHAT_TEXT_THEN_TOOLS,
    CREATED,
    anthropic_stream,
    bytewise,
    chat_chunk,
    chat_stream,
    frames,
    whole,
)

ENDED_EARLY = "the upstream stream ended before the answer was complete"


@pytest.mark.parametrize(
    ("translation", "raw"),
    [
        (CHAT, anthropic_stream(MESSAGE_START, text_delta("a"))),
        (RESPONSES, anthropic_stream(MESSAGE_START, text_delta("a"))),
        (MESSAGES, chat_stream(chat_chunk({"content": "a"}), done=False)),
        (CHAT, b""),
    ],
)
def test_a_stream_cut_short_ends_with_an_error(translation: Translation, raw: bytes) -> None:
    last = frames(whole(translation, raw))[-1][1]

    assert last.get("response", last)["error"]["message"] == ENDED_EARLY


def test_a_finished_stream_without_its_final_marker_completes() -> None:
    anthropic = anthropic_stream(MESSAGE_START, text_delta("a"), message_delta())
    chat = chat_stream(chat_chunk({"content": "a"}), chat_chunk({}, "length"), done=False)

    assert frames(whole(CHAT, anthropic))[-1] == ("", "[DONE]")
    assert frames(whole(MESSAGES, chat))[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_last_event_without_blank_line_is_still_translated() -> None:
    raw = anthropic_stream(MESSAGE_START, text_delta("a"), message_delta()).rstrip(b"\n")
    raw += b'\n\nevent: message_stop\ndata: {"type":"message_stop"}'

    assert frames(whole(CHAT, raw))[-1] == ("", "[DONE]")


def test_unreadable_event_ends_the_stream_with_an_error(caplog: pytest.LogCaptureFixture) -> None:
    translator = stream_translator(CHAT, created=CREATED)
    head = translator.feed(anthropic_stream(MESSAGE_START, text_delta("a")))

    with caplog.at_level(logging.WARNING, logger="plano_extproc.wire.streams"):
        failure = translator.feed(b"data: {not json\n\n")
    rest = translator.feed(anthropic_stream(text_delta("b"), {"type": "message_stop"}))

    assert len(frames(head)) == 2
    error = frames(failure)[0][1]["error"]
    assert error["type"] == "server_error"
    assert error["message"].startswith(
        "unreadable upstream stream: an upstream stream event is not valid JSON"
    )
    assert (rest, translator.finish(), translator.ended) == (b"", b"", True)
    assert len(caplog.records) == 1


@pytest.mark.parametrize("data", [b"[1]", b'"text"', b"42"])
def test_json_that_is_not_an_object_is_unreadable(data: bytes) -> None:
    out = frames(whole(MESSAGES, b"data: " + data + b"\n\n"))

    assert out[0][1]["error"]["message"].endswith("an upstream stream chunk is not a JSON object")


def test_content_before_the_start_gets_a_start() -> None:
    raw = anthropic_stream(
        text_delta("a"), MESSAGE_START, message_delta(), {"type": "message_stop"}
    )

    out = frames(whole(CHAT, raw))

    assert [data["choices"][0]["delta"] for _, data in out[:2]] == [
        {"role": "assistant", "content": ""},
        {"content": "a"},
    ]
    assert (out[0][1]["id"], out[0][1]["created"]) == ("", CREATED)


def test_a_second_start_is_ignored() -> None:
    raw = anthropic_stream(MESSAGE_START, MESSAGE_START, message_delta(), {"type": "message_stop"})

    assert len(frames(whole(RESPONSES, raw))) == 3


def test_chat_tool_calls_without_index_or_id() -> None:
    raw = chat_stream(
        chat_chunk({"tool_calls": [{"id": "x1", "function": {"name": "a", "arguments": '{"p":'}}]}),
        chat_chunk({"tool_calls": [{"function": {"arguments": "1}"}}]}),
        chat_chunk(
            {
                "tool_calls": [
                    {"index": True, "id": "x2", "function": {"name": "b", "arguments": "{}"}}
                ]
            }
        ),
        chat_chunk({"tool_calls": [{"index": 5, "function": {"name": "c", "arguments": "{}"}}]}),
        chat_chunk({}, "stop"),
    )

    out = frames(whole(MESSAGES, raw))
    starts = [data["content_block"] for name, data in out if name == "content_block_start"]
    deltas = [data["delta"]["partial_json"] for name, data in out if name == "content_block_delta"]

    assert [(block["id"], block["name"]) for block in starts] == [
        ("x1", "a"),
        ("x2", "b"),
        ("call_chatcmpl-1_5", "c"),
    ]
    assert deltas == ['{"p":', "1}", "{}", "{}"]
    assert out[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_a_streamed_refusal_is_text() -> None:
    raw = chat_stream(chat_chunk({"content": None, "refusal": "I can't"}), chat_chunk({}, "stop"))

    deltas = [data["delta"] for name, data in frames(whole(MESSAGES, raw)) if "delta" in data]

    assert deltas[0] == {"type": "text_delta", "text": "I can't"}


def test_other_choices_and_unknown_call_keys_are_ignored() -> None:
    other = chat_chunk({"content": "second choice"}) | {
        "choices": [{"index": 1, "delta": {"content": "no"}, "finish_reason": None}]
    }
    raw = chat_stream(chat_chunk({"content": "yes"}), other, chat_chunk({}, "stop"))

    texts = [
        data["delta"].get("text")
        for name, data in frames(whole(MESSAGES, raw))
        if name == "content_block_delta"
    ]

    assert texts == ["yes"]


def test_anthropic_arguments_for_an_unknown_block_are_ignored() -> None:
    delta = {
        "type": "content_block_delta",
        "index": 7,
        "delta": {"type": "input_json_delta", "partial_json": "{}"},
    }
    raw = anthropic_stream(MESSAGE_START, delta, message_delta(), {"type": "message_stop"})

    assert [name for name, _ in frames(whole(RESPONSES, raw))] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert len(frames(whole(CHAT, raw))) == 3


def test_anthropic_duplicate_tool_block_start_is_ignored() -> None:
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "t", "name": "f"},
    }
    raw = anthropic_stream(
        MESSAGE_START, start, start, message_delta("tool_use"), {"type": "message_stop"}
    )

    assert len(frames(whole(CHAT, raw))) == 4
    assert types(whole(RESPONSES, raw)).count("response.output_item.added") == 1


@pytest.mark.parametrize(
    ("translation", "raw"),
    [
        (CHAT, ANTHROPIC_TEXT_THEN_TOOL),
        (RESPONSES, ANTHROPIC_TEXT_THEN_TOOL),
        (MESSAGES, CHAT_TEXT_THEN_TOOLS),
    ],
)
def test_byte_by_byte_equals_one_chunk(translation: Translation, raw: bytes) -> None:
    assert bytewise(translation, raw, include_usage=True) == whole(
        translation, raw, include_usage=True
    )


def test_crlf_streams_translate_like_lf_streams() -> None:
    crlf = ANTHROPIC_TEXT_THEN_TOOL.replace(b"\n", b"\r\n")

    assert bytewise(CHAT, crlf) == whole(CHAT, ANTHROPIC_TEXT_THEN_TOOL)


def test_openai_error_chunk_with_a_plain_message() -> None:
    out = frames(whole(MESSAGES, chat_stream({"error": "worker died"}, done=False)))

    assert out == [
        ("error", {"type": "error", "error": {"type": "api_error", "message": "worker died"}})
    ]


def test_an_oversized_upstream_event_ends_the_stream_with_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("plano_extproc.wire.sse.MAX_EVENT_BYTES", 64)
    translator = stream_translator(Translation.CHAT_TO_ANTHROPIC)
    out = translator.feed(b"event: message_start\ndata: " + b"x" * 200)
    assert b"error" in out
    assert translator.ended
