"""Property tests: chunking never changes a translated stream, and no upstream input, however
broken, makes a translator raise or emit a malformed client stream."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plano_extproc.wire import Translation
from tests.wire.support import (
    ANTHROPIC_TEXT_THEN_TOOL,
    CHAT_TEXT_THEN_TOOLS,
    chat_chunk,
    frames,
    translate_stream,
    whole,
)

CHAT = Translation.CHAT_TO_ANTHROPIC
MESSAGES = Translation.MESSAGES_TO_OPENAI
RESPONSES = Translation.RESPONSES_TO_ANTHROPIC
CANONICAL = [
    (CHAT, ANTHROPIC_TEXT_THEN_TOOL),
    (RESPONSES, ANTHROPIC_TEXT_THEN_TOOL),
    (MESSAGES, CHAT_TEXT_THEN_TOOLS),
    (CHAT, ANTHROPIC_TEXT_THEN_TOOL.replace(b"\n", b"\r\n")),
    (MESSAGES, CHAT_TEXT_THEN_TOOLS.replace(b"\n", b"\r")),
]


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(cut % (len(raw) + 1) for cut in cuts), len(raw)]
    return [raw[start:end] for start, end in itertools.pairwise(points)]


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(CANONICAL),
    cuts=st.lists(st.integers(min_value=0), max_size=40),
    include_usage=st.booleans(),
)
def test_any_chunking_gives_the_same_stream(
    case: tuple[Translation, bytes], cuts: list[int], include_usage: bool
) -> None:
    translation, raw = case
    expected = whole(translation, raw, include_usage=include_usage)

    assert translate_stream(translation, split(raw, cuts), include_usage=include_usage) == expected


def _delta(index: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


ANTHROPIC_EVENTS = [
    {
        "type": "message_start",
        "message": {"id": "msg_1", "model": "c", "usage": {"input_tokens": 2}},
    },
    {"type": "message_start", "message": 5},
    *(
        {"type": "content_block_start", "index": index, "content_block": block}
        for index in range(3)
        for block in (
            {"type": "text", "text": ""},
            {"type": "tool_use", "id": f"t{index}", "name": "f", "input": {}},
            {"type": "tool_use", "id": "w", "name": "g", "input": {"k": [1, "é"]}},
            {"type": "thinking", "thinking": ""},
        )
    ),
    *(_delta(index, "text_delta", text="hé✓") for index in range(3)),
    *(_delta(index, "input_json_delta", partial_json='{"a":') for index in range(3)),
    _delta(0, "thinking_delta", thinking="hm"),
    {"type": "content_block_delta"},
    *({"type": "content_block_stop", "index": index} for index in range(3)),
    *(
        {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 3}}
        for stop in ("end_turn", "tool_use", "max_tokens", "refusal", None, 7)
    ),
    {"type": "message_stop"},
    {"type": "ping"},
    {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    {"type": "error"},
    {"type": 12},
]
CHAT_CHUNKS = [
    chat_chunk({"role": "assistant", "content": ""}),
    chat_chunk({"content": "hé✓"}),
    chat_chunk({"content": None, "refusal": "r"}),
    *(
        chat_chunk({"tool_calls": [call]})
        for call in (
            {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}},
            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}},
            {"index": 0, "function": {"arguments": '"x":1}'}},
            {"index": 1, "function": {"arguments": "}"}},
            {"id": "c", "function": {"name": "h", "arguments": "{}"}},
            {"function": {"arguments": "{}"}},
            {"index": -1},
            "not a call",
        )
    ),
    *(chat_chunk({}, finish) for finish in ("stop", "length", "tool_calls", "weird")),
    chat_chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 2}),
    chat_chunk(None, usage="lots"),
    {"choices": "many"},
    {"error": {"message": "boom", "type": "server_error"}},
    {"error": "plain"},
]


def _frame(payload: bytes, event: bytes | None) -> bytes:
    head = b"" if event is None else b"event: " + event + b"\n"
    return head + b"data: " + payload + b"\n\n"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_noise = st.one_of(
    _json_values.map(lambda value: _frame(orjson.dumps(value), None)),
    st.binary(max_size=12),
    st.sampled_from(
        [
            b"data: [DONE]\n\n",
            b": comment\n",
            b"\r\n",
            b"data: {\n\n",
            b"event: x\n",
            b"data: \xff\n\n",
            b'data: {"type": "content_block_start", "index": 1e400}\n\n',
            b'data: {"choices": [{"index": 99999999999999999999999}]}\n\n',
        ]
    ),
)


def _upstream(events: list[dict[str, Any]], named: bool) -> st.SearchStrategy[bytes]:
    frames_ = [_frame(orjson.dumps(event), b"x" if named else None) for event in events]
    items = st.one_of(st.sampled_from(frames_), _noise)
    return st.lists(items, max_size=25).map(b"".join)


GARBAGE = {
    CHAT: _upstream(ANTHROPIC_EVENTS, named=True),
    RESPONSES: _upstream(ANTHROPIC_EVENTS, named=True),
    MESSAGES: _upstream(CHAT_CHUNKS, named=False),
}


def check_chat_stream(out: list[tuple[str, Any]]) -> None:
    *body, last = out
    assert last == ("", "[DONE]") or "error" in last[1]
    assert all(name == "" and isinstance(data, dict) and "error" not in data for name, data in body)
    if body:
        assert body[0][1]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    indexes: list[int] = []
    for _, data in body:
        for choice in data["choices"]:
            for call in choice["delta"].get("tool_calls", []):
                if "id" in call:
                    assert call["index"] == len(indexes)
                    indexes.append(call["index"])
                else:
                    assert call["index"] in indexes


def check_anthropic_stream(out: list[tuple[str, Any]]) -> None:
    names = [name for name, _ in out]
    assert all(name == data["type"] for name, data in out)
    assert names[-1] in ("message_stop", "error")
    assert names.count("message_stop") + names.count("error") == 1
    if names[-1] == "message_stop":
        assert names[0] == "message_start"
        assert names[-2] == "message_delta"
    open_index: int | None = None
    next_index = 0
    for name, data in out:
        if name == "content_block_start":
            assert open_index is None
            assert data["index"] == next_index
            open_index = next_index
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, next_index = None, next_index + 1
        elif name == "message_delta":
            assert open_index is None


def check_responses_stream(out: list[tuple[str, Any]]) -> None:
    assert [data["sequence_number"] for _, data in out] == list(range(len(out)))
    names = [name for name, _ in out]
    terminal = {"response.completed", "response.incomplete", "response.failed"}
    if names == ["error"]:
        return
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] in terminal
    assert sum(name in terminal for name in names) == 1
    added = {data["item"]["id"] for name, data in out if name == "response.output_item.added"}
    done = {data["item"]["id"] for name, data in out if name == "response.output_item.done"}
    assert done <= added
    if names[-1] != "response.failed":
        assert done == added
        assert [item["id"] for item in out[-1][1]["response"]["output"]] == sorted(
            done, key=lambda item_id: int(item_id.rsplit("_", 1)[1])
        )


CHECKS = {
    CHAT: check_chat_stream,
    MESSAGES: check_anthropic_stream,
    RESPONSES: check_responses_stream,
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), translation=st.sampled_from(list(GARBAGE)))
def test_broken_upstreams_still_give_well_formed_client_streams(
    data: st.DataObject, translation: Translation
) -> None:
    raw = data.draw(GARBAGE[translation])
    cuts = data.draw(st.lists(st.integers(min_value=0), max_size=10))

    out = translate_stream(translation, split(raw, cuts), include_usage=True)

    CHECKS[translation](frames(out))
    assert out == whole(translation, raw, include_usage=True)
