"""The Anthropic Messages vocabulary: stop reasons, usage, error shapes, image sources and
alternating turns (which Bedrock's Converse shares)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from plano_extproc.wire.errors import untranslatable
from plano_extproc.wire.ir import (
    ApiError,
    ErrorKind,
    Part,
    StopReason,
    Text,
    ToolCall,
    Turn,
    Usage,
    kind_for_status,
)
from plano_extproc.wire.lenient import as_count, as_dict, as_str

_STOP_NAMES = {
    StopReason.END_TURN: "end_turn",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.TOOL_USE: "tool_use",
    StopReason.CONTENT_FILTER: "refusal",
}
_STOP_REASONS = {
    **{name: reason for reason, name in _STOP_NAMES.items()},
    # A paused server-tool turn is, for a client without server tools, a finished turn.
    "pause_turn": StopReason.END_TURN,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
}
_ERROR_TYPES = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.REQUEST_TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMIT: "rate_limit_error",
    ErrorKind.OVERLOADED: "overloaded_error",
    ErrorKind.SERVER: "api_error",
}
_ERROR_KINDS = {
    **{name: kind for kind, name in _ERROR_TYPES.items()},
    "billing_error": ErrorKind.PERMISSION,
    "timeout_error": ErrorKind.SERVER,
}
_DATA_URL_PREFIX = "data:"
_BASE64_MARK = ";base64,"


def anthropic_stop_reason(stop: StopReason) -> str:
    return _STOP_NAMES[stop]


def stop_reason(value: object) -> StopReason | None:
    """The stop reason of an Anthropic `stop_reason`; None while unfinished (null)."""
    if value is None:
        return None
    return _STOP_REASONS.get(as_str(value), StopReason.END_TURN)


def usage_from_anthropic(value: object) -> Usage:
    return cache_inclusive_usage(
        value,
        ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"),
    )


def cache_inclusive_usage(value: object, names: tuple[str, str, str, str]) -> Usage:
    """Usage from an answer whose input count leaves out the tokens read from or written to
    the prompt cache (Anthropic's, Bedrock's); `names`: input, output, cache read and cache
    write counts' keys."""
    usage = as_dict(value)
    input_name, output_name, read_name, write_name = names
    cached = as_count(usage.get(read_name))
    written = as_count(usage.get(write_name))
    return Usage(
        input_tokens=as_count(usage.get(input_name)) + cached + written,
        output_tokens=as_count(usage.get(output_name)),
        cached_tokens=cached,
    )


def anthropic_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens - usage.cached_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def anthropic_error(error: ApiError) -> dict[str, Any]:
    """An Anthropic error body, which is also the data of a stream's `error` event."""
    return {"type": "error", "error": {"type": _ERROR_TYPES[error.kind], "message": error.message}}


def error_from_anthropic(body: dict[str, Any], status: int | None) -> ApiError | None:
    """The error an Anthropic body carries, or None when it is not an error body.

    A failed answer may also come from the gateway itself (Envoy's JSON error replies, e.g. a
    provider that cannot be reached), shaped `{"error": {"code", "message"}}`: keep its message.
    """
    failed = status is not None and status >= 400
    if body.get("type") != "error" and not (failed and isinstance(body.get("error"), dict)):
        return None
    details = as_dict(body.get("error"))
    kind = _ERROR_KINDS.get(as_str(details.get("type"))) or kind_for_status(status)
    return ApiError(kind, as_str(details.get("message")))


def image_source(url: str) -> dict[str, Any] | None:
    """The `source` of an image block for an http(s) or base64 data URL; None for others."""
    if not url.startswith(_DATA_URL_PREFIX):
        return {"type": "url", "url": url} if url.startswith(("https://", "http://")) else None
    media_type, mark, data = url.removeprefix(_DATA_URL_PREFIX).partition(_BASE64_MARK)
    if not mark or not media_type:
        return None
    return {"type": "base64", "media_type": media_type, "data": data}


def image_url(source: dict[str, Any]) -> str | None:
    """The URL (http(s) or data) of an image block's `source`; None for unknown kinds."""
    kind = source.get("type")
    if kind == "url":
        url = source.get("url")
        return url if isinstance(url, str) else None
    media_type, data = source.get("media_type"), source.get("data")
    if kind == "base64" and isinstance(media_type, str) and isinstance(data, str):
        return f"{_DATA_URL_PREFIX}{media_type}{_BASE64_MARK}{data}"
    return None


def tool_input(arguments: str) -> dict[str, Any] | None:
    """A tool call's JSON arguments as the object Anthropic wants; None when not an object.

    Empty arguments are the empty object: some servers send "" for a call without arguments.
    """
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def call_input(call: ToolCall) -> dict[str, Any]:
    """A tool call's arguments as an object to send upstream; InvalidRequest (untranslatable)
    when they are not one."""
    arguments = tool_input(call.arguments)
    if arguments is None:
        problem = "arguments must be a JSON object to be sent upstream"
        raise untranslatable(f"tool call {call.id!r}", problem)
    return arguments


def sendable(part: object) -> bool:
    """Whether a part can become a block: Anthropic refuses empty text blocks."""
    return not isinstance(part, Text) or bool(part.text)


def alternating_turns(
    turns: tuple[Turn, ...],
    write_block: Callable[[Part], dict[str, Any]],
    is_tool_result: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """Turns as role/content messages for APIs that need roles to alternate (Anthropic's,
    Bedrock's): consecutive turns of a role are merged, and in each message tool results come
    first, as both require."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        blocks = [write_block(part) for part in turn.parts if sendable(part)]
        if not blocks:
            continue
        if messages and messages[-1]["role"] == turn.role.value:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": turn.role.value, "content": blocks})
    for message in messages:
        message["content"].sort(key=lambda block: 0 if is_tool_result(block) else 1)
    return messages
