"""Stream translation: golden event sequences from each upstream to each client API."""

from __future__ import annotations

from typing import Any

from tests.wire.stream_support import (
    CHAT,
    MESSAGE_START,
    MESSAGES,
    RESPONSES,
    block,
    message_delta,
    text_delta,
)
from tests.wire.support import (
    ANTHROPIC_TEXT_THEN_TOOL,
    CHAT_TEXT_THEN_TOOLS,
    CREATED,
    anthropic_stream,
    chat_chunk,
    chat_stream,
    frames,
    whole,
)


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
