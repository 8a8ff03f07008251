from __future__ import annotations

import orjson
from envoy.config.core.v3.base_pb2 import HeaderMap, HeaderValue
from envoy.service.ext_proc.v3.external_processor_pb2 import HttpHeaders, ProcessingRequest
from google.protobuf.struct_pb2 import Struct

from plano_extproc.extproc.translation import ResponseTranslation

ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [{"type": "text", "text": "Hi there"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 2},
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
