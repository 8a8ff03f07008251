"""Stream translation: golden event sequences, errors, truncation and odd upstreams."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from plano_extproc.wire import Translation, stream_translator
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

CHAT = Translation.CHAT_TO_ANTHROPIC
MESSAGES = Translation.MESSAGES_TO_OPENAI
RESPONSES = Translation.RESPONSES_TO_ANTHROPIC


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "claude-sonnet-4",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def test_anthropic_stream_to_chat_chunks() -> None:
    usage = {
        "prompt_tokens": 15,
        "completion_tokens": 12,
        "total_tokens": 27,
        "prompt_tokens_details": {"cached_tokens": 5},
    }
    call = {"index": 0, "id": "toolu_1", "type": "function"}
    expected = [
        ("", chunk({"role": "assistant", "content": ""})),
        ("", chunk({"content": "Héllo "})),
        ("", chunk({"content": "✓"})),
        ("", chunk({"tool_calls": [call | {"function": {"name": "lookup", "arguments": ""}}]})),
        ("", chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": '}}]})),
        ("", chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]})),
        ("", chunk({}, "tool_calls")),
        ("", chunk({}) | {"choices": [], "usage": usage}),
        ("", "[DONE]"),
    ]

    assert frames(whole(CHAT, ANTHROPIC_TEXT_THEN_TOOL, include_usage=True)) == expected
    without_usage = frames(whole(CHAT, ANTHROPIC_TEXT_THEN_TOOL))
    assert without_usage == expected[:7] + expected[8:]


def block(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


def test_chat_chunks_to_anthropic_stream() -> None:
    message = {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }

    def tool(index: int, call_id: str, name: str) -> tuple[str, dict[str, Any]]:
        content_block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        return block("content_block_start", index=index, content_block=content_block)

    def json_delta(index: int, fragment: str) -> tuple[str, dict[str, Any]]:
        delta = {"type": "input_json_delta", "partial_json": fragment}
        return block("content_block_delta", index=index, delta=delta)

    assert frames(whole(MESSAGES, CHAT_TEXT_THEN_TOOLS)) == [
        block("message_start", message=message),
        block("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        block("content_block_delta", index=0, delta={"type": "text_delta", "text": "Let me "}),
        block("content_block_delta", index=0, delta={"type": "text_delta", "text": "check ✓"}),
        block("content_block_stop", index=0),
        tool(1, "call_a", "lookup"),
        json_delta(1, '{"q":'),
        json_delta(1, '"x"}'),
        block("content_block_stop", index=1),
        tool(2, "call_b", "fetch"),
        json_delta(2, '{"u":1}'),
        block("content_block_stop", index=2),
        block(
            "message_delta",
            delta={"stop_reason": "tool_use", "stop_sequence": None},
            usage={
                "input_tokens": 16,
                "output_tokens": 7,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 4,
            },
        ),
        block("message_stop"),
    ]


def event_summary(raw: bytes) -> list[tuple[str, Any]]:
    """Each Anthropic event's name with what distinguishes it."""
    summary = []
    for name, data in frames(raw):
        detail = data.get("delta", data.get("content_block", data.get("index")))
        summary.append((name, detail))
    return summary


def test_interleaved_tool_calls_are_serialized_without_losing_arguments() -> None:
    def call(index: int, arguments: str, first: tuple[str, str] | None = None) -> dict[str, Any]:
        function = {"arguments": arguments}
        opening = {} if first is None else {"id": first[0]}
        if first is not None:
            function["name"] = first[1]
        return chat_chunk({"tool_calls": [{"index": index, **opening, "function": function}]})

    raw = chat_stream(
        call(0, "", ("c0", "a")),
        call(1, '{"y":', ("c1", "b")),
        call(0, '{"x":'),
        call(1, "2}"),
        call(0, "1}"),
        chat_chunk({"content": "late text"}),
        chat_chunk({}, "tool_calls"),
    )

    summary = event_summary(whole(MESSAGES, raw))

    assert summary[1:] == [
        ("content_block_start", {"type": "tool_use", "id": "c0", "name": "a", "input": {}}),
        ("content_block_delta", {"type": "input_json_delta", "partial_json": '{"x":'}),
        ("content_block_delta", {"type": "input_json_delta", "partial_json": "1}"}),
        ("content_block_stop", 0),
        ("content_block_start", {"type": "tool_use", "id": "c1", "name": "b", "input": {}}),
        ("content_block_delta", {"type": "input_json_delta", "partial_json": '{"y":2}'}),
        ("content_block_stop", 1),
        ("content_block_start", {"type": "text", "text": ""}),
        ("content_block_delta", {"type": "text_delta", "text": "late text"}),
        ("content_block_stop", 2),
        ("message_delta", {"stop_reason": "tool_use", "stop_sequence": None}),
        ("message_stop", None),
    ]


def test_held_tool_call_without_arguments_and_duplicate_starts() -> None:
    start_a = {"index": 0, "id": "a", "function": {"name": "fa", "arguments": ""}}
    start_b = {"index": 1, "id": "b", "function": {"name": "fb"}}
    raw = chat_stream(
        chat_chunk({"tool_calls": [start_a, start_b]}),
        chat_chunk({"tool_calls": [start_a, start_b]}),
        chat_chunk({"content": "x"}),
        chat_chunk({"content": "y"}),
        chat_chunk({}, "tool_calls"),
    )

    assert event_summary(whole(MESSAGES, raw))[1:8] == [
        ("content_block_start", {"type": "tool_use", "id": "a", "name": "fa", "input": {}}),
        ("content_block_stop", 0),
        ("content_block_start", {"type": "tool_use", "id": "b", "name": "fb", "input": {}}),
        ("content_block_stop", 1),
        ("content_block_start", {"type": "text", "text": ""}),
        ("content_block_delta", {"type": "text_delta", "text": "xy"}),
        ("content_block_stop", 2),
    ]


def types(raw: bytes) -> list[str]:
    return [data["type"] for _, data in frames(raw)]


def test_anthropic_stream_to_responses_events() -> None:
    out = frames(whole(RESPONSES, ANTHROPIC_TEXT_THEN_TOOL))

    assert [name for name, _ in out] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["type"] for _, data in out] == [name for name, _ in out]
    assert [data["sequence_number"] for _, data in out] == list(range(len(out)))
    created = out[0][1]["response"]
    assert (created["id"], created["status"], created["created_at"], created["output"]) == (
        "resp_01",
        "in_progress",
        CREATED,
        [],
    )
    assert out[4][1] | {"sequence_number": 0} == {
        "type": "response.output_text.delta",
        "sequence_number": 0,
        "item_id": "msg_01_0",
        "output_index": 0,
        "content_index": 0,
        "delta": "Héllo ",
        "logprobs": [],
    }
    assert out[6][1]["text"] == "Héllo ✓"
    assert out[9][1]["item"] == {
        "type": "function_call",
        "id": "fc_01_1",
        "call_id": "toolu_1",
        "name": "lookup",
        "arguments": "",
        "status": "in_progress",
    }
    assert out[12][1]["arguments"] == '{"q": "x"}'
    completed = out[-1][1]["response"]
    assert completed["status"] == "completed"
    assert [item["id"] for item in completed["output"]] == ["msg_01_0", "fc_01_1"]
    assert completed["usage"] == {
        "input_tokens": 15,
        "input_tokens_details": {"cached_tokens": 5},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 27,
    }


MESSAGE_START = {
    "type": "message_start",
    "message": {"id": "msg_9", "model": "claude", "usage": {"input_tokens": 3}},
}


def text_delta(text: str, index: int = 0) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


def message_delta(stop: str | None = "end_turn", **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": "###" if stop == "stop_sequence" else None},
        "usage": {"output_tokens": 4, **usage},
    }


def test_max_tokens_makes_an_incomplete_response() -> None:
    raw = anthropic_stream(
        MESSAGE_START, text_delta("cut"), message_delta("max_tokens"), {"type": "message_stop"}
    )

    final = frames(whole(RESPONSES, raw))[-1]

    assert final[0] == "response.incomplete"
    assert final[1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_thinking_server_tools_and_unknown_events_are_dropped() -> None:
    raw = anthropic_stream(
        MESSAGE_START,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hm"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "s"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "server_tool_use",
                "id": "s",
                "name": "web_search",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{}"},
        },
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "text", "text": "pre"},
        },
        text_delta("", 2),
        {"type": "brand_new_event"},
        message_delta("stop_sequence", input_tokens=None),
        {"type": "message_stop"},
    )

    out = frames(whole(CHAT, raw, include_usage=True))

    assert [data["choices"][0]["delta"] for _, data in out[:2]] == [
        {"role": "assistant", "content": ""},
        {"content": "pre"},
    ]
    assert out[2][1]["choices"][0]["finish_reason"] == "stop"
    assert out[3][1]["usage"]["prompt_tokens"] == 3
    assert out[4] == ("", "[DONE]")


def test_tool_input_given_whole_at_block_start() -> None:
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {"a": [1]}},
    }
    raw = anthropic_stream(
        MESSAGE_START, start, message_delta("tool_use"), {"type": "message_stop"}
    )

    deltas = [data["choices"][0]["delta"] for _, data in frames(whole(CHAT, raw))[:-1]]

    assert deltas[2] == {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":[1]}'}}]}


def test_upstream_error_event_mid_stream() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    raw = anthropic_stream(MESSAGE_START, text_delta("partial"), error, text_delta("ignored"))

    chat = frames(whole(CHAT, raw))
    responses = frames(whole(RESPONSES, raw))

    assert chat[-1] == (
        "",
        {
            "error": {
                "message": "Overloaded",
                "type": "server_error",
                "param": None,
                "code": "overloaded",
            }
        },
    )
    assert len(chat) == 3
    assert [name for name, _ in responses[-2:]] == ["error", "response.failed"]
    assert responses[-2][1] | {"sequence_number": 0} == {
        "type": "error",
        "sequence_number": 0,
        "code": "overloaded",
        "message": "Overloaded",
        "param": None,
    }
    failed = responses[-1][1]["response"]
    assert (failed["status"], failed["error"]) == (
        "failed",
        {"code": "overloaded", "message": "Overloaded"},
    )


def test_error_before_anything_else() -> None:
    raw = b'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"boom"}}\n\n'

    assert [name for name, _ in frames(whole(RESPONSES, raw))] == ["error"]
    assert frames(whole(CHAT, raw)) == [
        ("", {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}})
    ]


def test_error_event_without_details() -> None:
    assert frames(whole(CHAT, b"event: error\ndata: {}\n\n")) == [
        (
            "",
            {
                "error": {
                    "message": "the upstream stream failed",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        )
    ]


def test_openai_error_chunk_to_anthropic_error_event() -> None:
    raw = chat_stream(
        chat_chunk({"content": "a"}),
        {"error": {"message": "rate", "type": "requests", "code": "rate_limit_exceeded"}},
    )

    out = frames(whole(MESSAGES, raw))

    assert out[-1] == (
        "error",
        {"type": "error", "error": {"type": "rate_limit_error", "message": "rate"}},
    )
    assert "message_stop" not in [name for name, _ in out]


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
