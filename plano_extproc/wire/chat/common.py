"""The Chat Completions vocabulary: finish reasons, usage, tool calls, and the error shape
that the Responses API shares."""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.ir import (
    ApiError,
    ErrorKind,
    StopReason,
    ToolCall,
    Usage,
    kind_for_status,
)
from plano_extproc.wire.lenient import as_count, as_dict, as_str

_FINISH_REASONS = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.MAX_TOKENS: "length",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.CONTENT_FILTER: "content_filter",
}
_STOP_REASONS = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}
_ERROR_SHAPES: dict[ErrorKind, tuple[str, str | None]] = {
    ErrorKind.INVALID_REQUEST: ("invalid_request_error", None),
    ErrorKind.AUTHENTICATION: ("authentication_error", None),
    ErrorKind.PERMISSION: ("permission_error", None),
    ErrorKind.NOT_FOUND: ("not_found_error", None),
    ErrorKind.REQUEST_TOO_LARGE: ("invalid_request_error", "request_too_large"),
    ErrorKind.RATE_LIMIT: ("rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.OVERLOADED: ("server_error", "overloaded"),
    ErrorKind.SERVER: ("server_error", None),
}
# The `type` and `code` values OpenAI and compatible servers are known to send.
_ERROR_KINDS = {
    "invalid_request_error": ErrorKind.INVALID_REQUEST,
    "authentication_error": ErrorKind.AUTHENTICATION,
    "invalid_api_key": ErrorKind.AUTHENTICATION,
    "permission_error": ErrorKind.PERMISSION,
    "not_found_error": ErrorKind.NOT_FOUND,
    "model_not_found": ErrorKind.NOT_FOUND,
    "request_too_large": ErrorKind.REQUEST_TOO_LARGE,
    "rate_limit_error": ErrorKind.RATE_LIMIT,
    "rate_limit_exceeded": ErrorKind.RATE_LIMIT,
    "insufficient_quota": ErrorKind.RATE_LIMIT,
    "requests": ErrorKind.RATE_LIMIT,
    "tokens": ErrorKind.RATE_LIMIT,
    "overloaded": ErrorKind.OVERLOADED,
    "server_error": ErrorKind.SERVER,
}


def finish_reason(stop: StopReason) -> str:
    return _FINISH_REASONS[stop]


def stop_reason(finish: object, *, called_tools: bool) -> StopReason:
    """The stop reason of a `finish_reason`.

    Some compatible servers (Ollama among them) finish a turn of tool calls with "stop"; an
    Anthropic client would then not run the tools, so tool calls decide.
    """
    reason = _STOP_REASONS.get(as_str(finish), StopReason.END_TURN)
    if called_tools and reason is StopReason.END_TURN:
        return StopReason.TOOL_USE
    return reason


def chat_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def usage_from_chat(value: object) -> Usage:
    usage = as_dict(value)
    return Usage(
        input_tokens=as_count(usage.get("prompt_tokens")),
        output_tokens=as_count(usage.get("completion_tokens")),
        cached_tokens=as_count(as_dict(usage.get("prompt_tokens_details")).get("cached_tokens")),
    )


def chat_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def openai_error(error: ApiError) -> dict[str, Any]:
    """The `error` object of an OpenAI error body or stream chunk."""
    kind, code = _ERROR_SHAPES[error.kind]
    return {"message": error.message, "type": kind, "param": None, "code": code}


def error_from_openai(body: dict[str, Any], status: int | None) -> ApiError | None:
    """The error an OpenAI-style body carries, or None when it is not an error body.

    Besides `{"error": {...}}`, compatible servers send `{"error": "text"}` and vLLM's
    `{"object": "error", "message": ...}`.
    """
    if body.get("object") == "error":
        error: object = body
    else:
        error = body.get("error")
    if error is None:
        return None
    if isinstance(error, str):
        return ApiError(kind_for_status(status), error)
    details = as_dict(error)
    return ApiError(_error_kind(details, status), as_str(details.get("message")))


def _error_kind(details: dict[str, Any], status: int | None) -> ErrorKind:
    for key in ("code", "type"):
        kind = _ERROR_KINDS.get(as_str(details.get(key)))
        if kind is not None:
            return kind
    return kind_for_status(status)
