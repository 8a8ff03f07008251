"""What the test upstream answers: provider-shaped JSON bodies and SSE streams (and Bedrock's
event streams, from `bedrock_payloads`).

Shapes follow the public API references closely enough for the official `openai` and
`anthropic` SDKs (and botocore, for Bedrock's stream) to parse them; token counts are rough
(UTF-8 bytes // 4 for the prompt, one token per text piece).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from tests.support.aws_eventstream import STREAM_CONTENT_TYPE as EVENT_STREAM_CONTENT_TYPE
from tests.support.bedrock_payloads import (
    bedrock_error,
    bedrock_route,
    converse_answer,
    converse_stream,
)


class Api(Enum):
    CHAT = "chat"
    MESSAGES = "messages"
    RESPONSES = "responses"
    BEDROCK = "bedrock"  # Converse and ConverseStream, at /model/{modelId}/...


# Each API by the end of its path: providers serve them under their own prefixes
# (/v1beta/openai/chat/completions, /openai/deployments/{name}/chat/completions, ...).
API_BY_PATH_END = MappingProxyType(
    {
        "/chat/completions": Api.CHAT,
        "/messages": Api.MESSAGES,
        "/responses": Api.RESPONSES,
    }
)
DEFAULT_PIECES = ("Hello", " from the", " test upstream.")
SSE_CONTENT_TYPE = "text/event-stream"


def api_for_path(path: str) -> Api | None:
    if bedrock_route(path) is not None:
        return Api.BEDROCK
    return next((api for end, api in API_BY_PATH_END.items() if path.endswith(end)), None)


def model_in_path(path: str) -> str | None:
    """The model a path names (Bedrock's do); None when the body names it."""
    route = bedrock_route(path)
    return None if route is None else route[0]


def path_asks_for_stream(path: str) -> bool:
    route = bedrock_route(path)
    return route is not None and route[1]


def stream_content_type(api: Api) -> str:
    return EVENT_STREAM_CONTENT_TYPE if api is Api.BEDROCK else SSE_CONTENT_TYPE


@dataclass(frozen=True, slots=True)
class Usage:
    prompt: int
    completion: int

    @classmethod
    def of(cls, prompt_bytes: int, pieces: tuple[str, ...]) -> Usage:
        return cls(max(1, prompt_bytes // 4), len(pieces))


@dataclass(frozen=True, slots=True)
class StreamFrames:
    """SSE events, already framed; `deltas` carry one text piece each."""

    head: tuple[bytes, ...]
    deltas: tuple[bytes, ...]
    tail: tuple[bytes, ...]

    @property
    def first_delta(self) -> int:
        return len(self.head)

    def all(self) -> tuple[bytes, ...]:
        return self.head + self.deltas + self.tail


def json_body(
    api: Api, reply_id: str, model: str, pieces: tuple[str, ...], prompt_bytes: int
) -> dict[str, Any]:
    usage = Usage.of(prompt_bytes, pieces)
    text = "".join(pieces)
    match api:
        case Api.CHAT:
            return _chat_completion(reply_id, model, text, usage)
        case Api.MESSAGES:
            return _anthropic_message(reply_id, model, [_text_block(text)], "end_turn", usage)
        case Api.RESPONSES:
            return _response(reply_id, model, "completed", [_output_message(reply_id, text)], usage)
        case Api.BEDROCK:
            return converse_answer(model, text, (usage.prompt, usage.completion))


def stream_frames(
    api: Api,
    reply_id: str,
    model: str,
    pieces: tuple[str, ...],
    prompt_bytes: int,
    *,
    include_usage: bool = False,
) -> StreamFrames:
    """`include_usage`: the chat request's `stream_options.include_usage` (OpenAI then ends
    the stream with a chunk of no choices and the usage)."""
    usage = Usage.of(prompt_bytes, pieces)
    match api:
        case Api.CHAT:
            return _chat_stream(reply_id, model, pieces, usage if include_usage else None)
        case Api.MESSAGES:
            return _anthropic_stream(reply_id, model, pieces, usage)
        case Api.RESPONSES:
            return _responses_stream(reply_id, model, pieces, usage)
        case Api.BEDROCK:
            return StreamFrames(*converse_stream(pieces, (usage.prompt, usage.completion)))


def error_reply(api: Api, status: int, message: str) -> tuple[dict[str, Any], dict[str, str]]:
    """An error body in the API's shape, and the headers that go with it."""
    if api is Api.BEDROCK:
        return bedrock_error(status, message)
    if api is Api.MESSAGES:
        return {"type": "error", "error": {"type": "api_error", "message": message}}, {}
    error = {"message": message, "type": "server_error", "param": None, "code": None}
    return {"error": error}, {}


def _data(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\n".encode() + _data(payload)


# OpenAI Chat Completions


def _chat_completion(reply_id: str, model: str, text: str, usage: Usage) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{reply_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _chat_usage(usage),
    }


def _chat_usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.prompt + usage.completion,
    }


def _chat_stream(
    reply_id: str, model: str, pieces: tuple[str, ...], usage: Usage | None
) -> StreamFrames:
    created = int(time.time())
    head = {
        "id": f"chatcmpl-{reply_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _data({**head, "choices": [choice]})

    usage_chunk = (
        () if usage is None else (_data({**head, "choices": [], "usage": _chat_usage(usage)}),)
    )
    return StreamFrames(
        head=(chunk({"role": "assistant", "content": ""}),),
        deltas=tuple(chunk({"content": piece}) for piece in pieces),
        tail=(chunk({}, "stop"), *usage_chunk, b"data: [DONE]\n\n"),
    )


# Anthropic Messages


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _anthropic_message(
    reply_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage: Usage,
) -> dict[str, Any]:
    return {
        "id": f"msg_{reply_id}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage.prompt, "output_tokens": usage.completion},
    }


def _anthropic_stream(
    reply_id: str, model: str, pieces: tuple[str, ...], usage: Usage
) -> StreamFrames:
    start = _anthropic_message(reply_id, model, [], None, Usage(usage.prompt, 1))
    return StreamFrames(
        head=(
            _event({"type": "message_start", "message": start}),
            _event({"type": "content_block_start", "index": 0, "content_block": _text_block("")}),
            _event({"type": "ping"}),
        ),
        deltas=tuple(
            _event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                }
            )
            for piece in pieces
        ),
        tail=(
            _event({"type": "content_block_stop", "index": 0}),
            _event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage.completion},
                }
            ),
            _event({"type": "message_stop"}),
        ),
    )


# OpenAI Responses


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def _output_message(reply_id: str, text: str | None) -> dict[str, Any]:
    """The assistant message item; `text` None is the item as first announced (no content)."""
    return {
        "type": "message",
        "id": f"msg_{reply_id}",
        "status": "in_progress" if text is None else "completed",
        "role": "assistant",
        "content": [] if text is None else [_output_text(text)],
    }


def _response(
    reply_id: str,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
) -> dict[str, Any]:
    return {
        "id": f"resp_{reply_id}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "usage": None
        if usage is None
        else {
            "input_tokens": usage.prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage.completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.prompt + usage.completion,
        },
    }


def _responses_stream(
    reply_id: str, model: str, pieces: tuple[str, ...], usage: Usage
) -> StreamFrames:
    text = "".join(pieces)
    item_id = f"msg_{reply_id}"
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        return _event({"type": kind, "sequence_number": next(numbers), **fields})

    def part(kind: str, value: str) -> bytes:
        return event(
            kind, item_id=item_id, output_index=0, content_index=0, part=_output_text(value)
        )

    in_progress = _response(reply_id, model, "in_progress", [], None)
    head = (
        event("response.created", response=in_progress),
        event("response.in_progress", response=in_progress),
        event("response.output_item.added", output_index=0, item=_output_message(reply_id, None)),
        part("response.content_part.added", ""),
    )
    deltas = tuple(
        event(
            "response.output_text.delta",
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=piece,
            logprobs=[],
        )
        for piece in pieces
    )
    done_item = _output_message(reply_id, text)
    tail = (
        event(
            "response.output_text.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            text=text,
            logprobs=[],
        ),
        part("response.content_part.done", text),
        event("response.output_item.done", output_index=0, item=done_item),
        event(
            "response.completed",
            response=_response(reply_id, model, "completed", [done_item], usage),
        ),
    )
    return StreamFrames(head, deltas, tail)
