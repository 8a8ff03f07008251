from __future__ import annotations

import re

import orjson
import pytest
from google.protobuf.struct_pb2 import Struct

from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    HeaderMap,
    HeaderValue,
    HttpHeaders,
    ProcessingRequest,
)
from plano_extproc.extproc.translation import ResponseTranslation
from tests.support.aws_eventstream import STREAM_CONTENT_TYPE, event_message
from tests.wire.support import (
    CHAT_COMPLETION,
    CHAT_TEXT_THEN_TOOLS,
    chat_chunk,
    chat_stream,
    frames,
)

ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [{"type": "text", "text": "Hi there"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 2},
}
STATE_KEY = "4f1c0a9e2b7d6c5a8e3f1b0d9c7a6e5f"
CHAT_TEXT_STREAM = chat_stream(
    chat_chunk({"role": "assistant", "content": ""}),
    chat_chunk({"content": "Hi "}),
    chat_chunk({"content": "there."}),
    chat_chunk({}, "stop"),
)
HI_THERE = {
    "type": "message",
    "id": "msg_chatcmpl-9_0",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hi there.", "annotations": []}],
}


def response_headers(metadata: dict[str, str], status: int, content_type: str) -> ProcessingRequest:
    values = [(":status", str(status)), ("content-type", content_type), ("content-length", "9")]
    headers = HeaderMap(headers=[HeaderValue(key=k, raw_value=v.encode()) for k, v in values])
    message = ProcessingRequest(response_headers=HttpHeaders(headers=headers))
    namespace = Struct()
    namespace.update(metadata)
    message.metadata_context.filter_metadata["plano"].CopyFrom(namespace)
    return message


def test_without_translation_metadata_the_response_is_untouched() -> None:
    state, reply = ResponseTranslation.start(response_headers({}, 200, "application/json"))
    assert state is None
    assert not reply.response_headers.HasField("response")


def test_json_answer_is_collected_then_translated() -> None:
    metadata = {"translate": "chat_to_anthropic", "stream": "false"}
    state, reply = ResponseTranslation.start(response_headers(metadata, 200, "application/json"))
    assert state is not None
    mutation = reply.response_headers.response.header_mutation
    assert list(mutation.remove_headers) == ["content-length"]
    raw = orjson.dumps(ANTHROPIC_MESSAGE)
    first = state.on_body(raw[:10], end_of_stream=False)
    assert first.response_body.response.body_mutation.clear_body
    last = state.on_body(raw[10:], end_of_stream=True)
    completion = orjson.loads(last.response_body.response.body_mutation.body)
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == "Hi there"
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_upstream_error_becomes_client_error_shape() -> None:
    metadata = {"translate": "chat_to_anthropic", "stream": "true"}
    state, _ = ResponseTranslation.start(response_headers(metadata, 429, "application/json"))
    assert state is not None
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    reply = state.on_body(orjson.dumps(error), end_of_stream=True)
    body = orjson.loads(reply.response_body.response.body_mutation.body)
    assert body["error"]["message"] == "slow down"


def test_sse_stream_is_translated_chunk_by_chunk() -> None:
    metadata = {"translate": "chat_to_anthropic", "stream": "true"}
    state, reply = ResponseTranslation.start(response_headers(metadata, 200, "text/event-stream"))
    assert state is not None
    content_type = reply.response_headers.response.header_mutation.set_headers[0].header
    assert content_type.raw_value.startswith(b"text/event-stream")
    start = {"type": "message_start", "message": {**ANTHROPIC_MESSAGE, "content": []}}
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    events = [
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        delta,
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 1},
        },
        {"type": "message_stop"},
    ]
    out = b""
    for event in events:
        chunk = f"event: {event['type']}\ndata: ".encode() + orjson.dumps(event) + b"\n\n"
        reply = state.on_body(chunk, end_of_stream=False)
        out += reply.response_body.response.body_mutation.body
    out += state.on_body(b"", end_of_stream=True).response_body.response.body_mutation.body
    assert b'"content":"Hi"' in out
    assert out.rstrip().endswith(b"data: [DONE]")


def test_bedrock_event_stream_is_translated_chunk_by_chunk() -> None:
    metadata = {"translate": "messages_to_bedrock", "stream": "true"}
    state, reply = ResponseTranslation.start(response_headers(metadata, 200, STREAM_CONTENT_TYPE))
    assert state is not None
    content_type = reply.response_headers.response.header_mutation.set_headers[0].header
    assert content_type.raw_value.startswith(b"text/event-stream")
    messages = [
        event_message("messageStart", {"role": "assistant"}),
        event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        event_message("messageStop", {"stopReason": "end_turn"}),
        event_message("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1}}),
    ]

    out = sent_body(state, [*messages, b""])

    names = [name for name, _ in frames(out)]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"
    assert b'"text":"Hi"' in out


def test_a_bedrock_json_answer_to_a_stream_request_is_translated_whole() -> None:
    metadata = {"translate": "chat_to_bedrock", "stream": "true"}
    state, reply = ResponseTranslation.start(response_headers(metadata, 200, "application/json"))
    assert state is not None
    content_type = reply.response_headers.response.header_mutation.set_headers[0].header
    assert content_type.raw_value == b"application/json"
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
    }

    completion = orjson.loads(sent_body(state, [orjson.dumps(answer)]))

    assert completion["choices"][0]["message"]["content"] == "Hi"


# Responses conversation state: a translated answer read back once complete.


def responses_metadata(stream: bool, state_key: str | None = STATE_KEY) -> dict[str, str]:
    metadata = {"translate": "responses_to_openai", "stream": "true" if stream else "false"}
    if state_key is not None:
        metadata["state"] = state_key
    return metadata


def start_responses(
    *, stream: bool, status: int = 200, state_key: str | None = STATE_KEY
) -> tuple[ResponseTranslation, bytes]:
    """The response's translation state and its serialized headers reply."""
    content_type = "text/event-stream" if stream else "application/json"
    metadata = responses_metadata(stream, state_key)
    state, reply = ResponseTranslation.start(response_headers(metadata, status, content_type))
    assert state is not None
    return state, reply.SerializeToString()


def feed(state: ResponseTranslation, chunks: list[bytes]) -> list[bytes]:
    """Every serialized body reply, the last chunk marked as the end of the stream."""
    return [
        state.on_body(chunk, end_of_stream=index == len(chunks) - 1).SerializeToString()
        for index, chunk in enumerate(chunks)
    ]


def sent_body(state: ResponseTranslation, chunks: list[bytes]) -> bytes:
    out = b""
    for index, chunk in enumerate(chunks):
        reply = state.on_body(chunk, end_of_stream=index == len(chunks) - 1)
        out += reply.response_body.response.body_mutation.body
    return out


def split(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def test_state_key_is_read_from_the_metadata() -> None:
    state, _ = start_responses(stream=False)
    assert state.state_key == STATE_KEY
    assert state.completed is None


def test_json_answer_completes_with_its_id_and_output() -> None:
    state, _ = start_responses(stream=False)
    raw = orjson.dumps(CHAT_COMPLETION)
    state.on_body(raw[:20], end_of_stream=False)
    assert state.completed is None
    body = orjson.loads(sent_body(state, [raw[20:]]))
    assert body["status"] == "completed"
    assert state.completed == (f"resp_{STATE_KEY}", [{**HI_THERE, "id": f"msg_{STATE_KEY}_0"}])
    assert state.completed == (body["id"], body["output"])


def test_json_answer_with_tool_calls_completes_with_every_item() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q":"x"}'},
            }
        ],
    }
    completion = {
        **CHAT_COMPLETION,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
    }
    state, _ = start_responses(stream=False)
    body = orjson.loads(sent_body(state, [orjson.dumps(completion)]))
    assert state.completed is not None
    response_id, output = state.completed
    assert (response_id, output) == (body["id"], body["output"])
    assert [item["type"] for item in output] == ["function_call"]
    assert output[0]["call_id"] == "call_a"
    assert output[0]["arguments"] == '{"q":"x"}'


def test_stream_completes_with_its_id_and_output() -> None:
    state, _ = start_responses(stream=True)
    out = sent_body(state, [*split(CHAT_TEXT_STREAM, 1), b""])
    completed = [data for name, data in frames(out) if name == "response.completed"]
    assert len(completed) == 1
    response = completed[0]["response"]
    assert state.completed == (f"resp_{STATE_KEY}", [{**HI_THERE, "id": f"msg_{STATE_KEY}_0"}])
    assert state.completed == (response["id"], response["output"])


def test_stream_is_not_completed_before_its_end() -> None:
    state, _ = start_responses(stream=True)
    unfinished = chat_stream(
        chat_chunk({"role": "assistant", "content": ""}), chat_chunk({"content": "Hi"}), done=False
    )
    state.on_body(unfinished, end_of_stream=False)
    assert state.completed is None


def test_stream_with_tool_calls_completes_with_every_item() -> None:
    state, _ = start_responses(stream=True)
    out = sent_body(state, [*split(CHAT_TEXT_THEN_TOOLS, 7), b""])
    assert state.completed is not None
    response_id, output = state.completed
    response = next(data for name, data in frames(out) if name == "response.completed")
    assert (response_id, output) == (response["response"]["id"], response["response"]["output"])
    assert [item["type"] for item in output] == ["message", "function_call", "function_call"]
    assert output[0]["content"][0]["text"] == "Let me check ✓"
    assert [item["call_id"] for item in output[1:]] == ["call_a", "call_b"]
    assert [item["arguments"] for item in output[1:]] == ['{"q":"x"}', '{"u":1}']


def test_stream_in_one_chunk_with_the_end_completes() -> None:
    state, _ = start_responses(stream=True)
    sent_body(state, [CHAT_TEXT_STREAM])
    assert state.completed == (f"resp_{STATE_KEY}", [{**HI_THERE, "id": f"msg_{STATE_KEY}_0"}])


def test_without_a_state_key_nothing_completes() -> None:
    json_state, _ = start_responses(stream=False, state_key=None)
    sent_body(json_state, [orjson.dumps(CHAT_COMPLETION)])
    stream_state, _ = start_responses(stream=True, state_key=None)
    sent_body(stream_state, [CHAT_TEXT_STREAM, b""])
    for state in (json_state, stream_state):
        assert state.state_key is None
        assert state.completed is None


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_an_error_status_drops_the_state_key(stream: bool, status: int) -> None:
    # An error answer is JSON even when a stream was asked for.
    metadata = responses_metadata(stream)
    state, _ = ResponseTranslation.start(response_headers(metadata, status, "application/json"))
    assert state is not None
    assert state.state_key is None
    error = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    body = orjson.loads(sent_body(state, [orjson.dumps(error)]))
    assert body["error"]["message"] == "slow down"
    assert state.completed is None


def test_an_error_status_with_a_completion_body_does_not_complete() -> None:
    # Whatever the body says, an error status is never stored.
    state, _ = start_responses(stream=False, status=429)
    sent_body(state, [orjson.dumps(CHAT_COMPLETION)])
    assert state.state_key is None
    assert state.completed is None


def test_an_incomplete_json_answer_does_not_complete() -> None:
    message = {"role": "assistant", "content": "Hi th"}
    completion = {
        **CHAT_COMPLETION,
        "choices": [{"index": 0, "message": message, "finish_reason": "length"}],
    }
    state, _ = start_responses(stream=False)
    body = orjson.loads(sent_body(state, [orjson.dumps(completion)]))
    assert body["status"] == "incomplete"
    assert state.completed is None


def test_an_incomplete_stream_does_not_complete() -> None:
    state, _ = start_responses(stream=True)
    raw = chat_stream(chat_chunk({"role": "assistant", "content": "Hi"}), chat_chunk({}, "length"))
    out = sent_body(state, [raw, b""])
    assert "response.incomplete" in [name for name, _ in frames(out)]
    assert state.completed is None


def test_a_cut_stream_does_not_complete() -> None:
    state, _ = start_responses(stream=True)
    raw = chat_stream(chat_chunk({"role": "assistant", "content": "Hi"}), done=False)
    out = sent_body(state, [raw, b""])
    assert "response.failed" in [name for name, _ in frames(out)]
    assert state.completed is None


def test_an_unreadable_upstream_body_does_not_complete() -> None:
    state, _ = start_responses(stream=False)
    body = orjson.loads(sent_body(state, [b"<html>bad gateway</html>"]))
    assert "error" in body
    assert state.completed is None


SENT_CASES: list[tuple[bool, list[bytes]]] = [
    (False, [orjson.dumps(CHAT_COMPLETION)]),
    (False, split(orjson.dumps(CHAT_COMPLETION), 16)),
    (True, [CHAT_TEXT_STREAM, b""]),
    (True, [*split(CHAT_TEXT_STREAM, 5), b""]),
    (True, [*split(CHAT_TEXT_THEN_TOOLS, 11), b""]),
    (True, [chat_stream(chat_chunk({"role": "assistant", "content": "Hi"}), done=False), b""]),
]


@pytest.mark.parametrize(
    ("stream", "chunks"),
    SENT_CASES,
    ids=["json", "json-split", "stream", "stream-split", "stream-tools", "stream-cut"],
)
def test_state_tracking_changes_only_the_ids(stream: bool, chunks: list[bytes]) -> None:
    """A stored conversation's ids are the gateway's (unguessable, never reused), not ids
    derived from the upstream's; everything else is sent the same."""
    tracked, tracked_headers = start_responses(stream=stream)
    plain, plain_headers = start_responses(stream=stream, state_key=None)
    assert tracked_headers == plain_headers
    tracked_out, plain_out = sent_body(tracked, chunks), sent_body(plain, chunks)
    assert STATE_KEY.encode() in tracked_out or b"response.failed" in tracked_out
    assert _ids_masked(tracked_out) == _ids_masked(plain_out)


def _ids_masked(out: bytes) -> bytes:
    return re.sub(rb"\b(resp|msg|fc)_(chatcmpl-\d+|[0-9a-f]{32})", rb"\1_ID", out)


def test_state_tracking_does_not_change_an_error_answer() -> None:
    error = orjson.dumps({"error": {"message": "slow down", "type": "rate_limit_error"}})
    tracked, tracked_headers = start_responses(stream=False, status=429)
    plain, plain_headers = start_responses(stream=False, status=429, state_key=None)
    assert tracked_headers == plain_headers
    assert feed(tracked, [error]) == feed(plain, [error])


def test_anthropic_translations_are_tracked_too() -> None:
    # Responses on Anthropic Messages: the same read-back applies to its answers.
    metadata = {
        "translate": "responses_to_anthropic",
        "stream": "false",
        "state": STATE_KEY,
    }
    state, _ = ResponseTranslation.start(response_headers(metadata, 200, "application/json"))
    assert state is not None
    body = orjson.loads(sent_body(state, [orjson.dumps(ANTHROPIC_MESSAGE)]))
    assert body["id"] == f"resp_{STATE_KEY}"
    assert state.completed == (body["id"], body["output"])


def test_a_json_answer_over_the_bound_fails_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("plano_extproc.extproc.translation.MAX_COLLECTED_BYTES", 100)
    metadata = {"translate": "chat_to_anthropic", "stream": "false"}
    state, _ = ResponseTranslation.start(response_headers(metadata, 200, "application/json"))
    assert state is not None
    assert state.on_body(b"x" * 60, end_of_stream=False).response_body.response.body_mutation
    reply = state.on_body(b"x" * 60, end_of_stream=False)
    assert reply.immediate_response.status.code == 502
