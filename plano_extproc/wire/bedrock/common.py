"""The Bedrock Converse vocabulary: stop reasons, usage, answer ids and errors.

Bedrock names an error by its exception type: in the `x-amzn-errortype` header of a failed HTTP
answer (whose body is `{"message": ...}`), and in the `:exception-type` header of an exception
message in a stream. A failed HTTP answer is read by its status, which identifies the exception
as well (AWS gives each its own), and by a `__type`/`code` field when the body carries one.
"""

from __future__ import annotations

import uuid
from typing import Any

from plano_extproc.wire.ir import ApiError, ErrorKind, StopReason, Usage, kind_for_status
from plano_extproc.wire.lenient import as_dict, as_str
from plano_extproc.wire.messages.common import cache_inclusive_usage

_STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "guardrail_intervened": StopReason.CONTENT_FILTER,
    "content_filtered": StopReason.CONTENT_FILTER,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
}
# Exception types, lowercased: HTTP answers spell them `ThrottlingException`, streams
# `throttlingException`.
_EXCEPTION_KINDS = {
    "validationexception": ErrorKind.INVALID_REQUEST,
    "accessdeniedexception": ErrorKind.PERMISSION,
    "unrecognizedclientexception": ErrorKind.AUTHENTICATION,
    "invalidsignatureexception": ErrorKind.AUTHENTICATION,
    "expiredtokenexception": ErrorKind.AUTHENTICATION,
    "resourcenotfoundexception": ErrorKind.NOT_FOUND,
    "throttlingexception": ErrorKind.RATE_LIMIT,
    "servicequotaexceededexception": ErrorKind.RATE_LIMIT,
    "serviceunavailableexception": ErrorKind.OVERLOADED,
    "modelnotreadyexception": ErrorKind.OVERLOADED,
    "internalserverexception": ErrorKind.SERVER,
    "modelstreamerrorexception": ErrorKind.SERVER,
    "modelerrorexception": ErrorKind.SERVER,
    "modeltimeoutexception": ErrorKind.SERVER,
}
# Statuses Bedrock gives a failure of the model rather than of the request.
_SERVER_STATUSES = frozenset({408, 424})  # ModelTimeoutException, ModelErrorException
_ANSWER_ID_PREFIX = "bedrock-"


def stop_reason(value: object) -> StopReason | None:
    """The stop reason of a Converse `stopReason`; None when there is none yet."""
    if value is None:
        return None
    return _STOP_REASONS.get(as_str(value), StopReason.END_TURN)


def usage_from_bedrock(value: object) -> Usage:
    return cache_inclusive_usage(
        value, ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
    )


def new_answer_id() -> str:
    """An id for an answer: Converse answers carry none, and clients expect one."""
    return f"{_ANSWER_ID_PREFIX}{uuid.uuid4().hex}"


def error_kind(exception_type: str) -> ErrorKind | None:
    """The kind of an exception type, with or without a `namespace#` prefix or `:` suffix."""
    name = exception_type.rpartition("#")[2].partition(":")[0]
    return _EXCEPTION_KINDS.get(name.lower())


def error_from_exception(exception_type: str, payload: dict[str, Any]) -> ApiError:
    """The error of a stream's exception message."""
    kind = error_kind(exception_type) or ErrorKind.SERVER
    return ApiError(kind, _message(payload) or exception_type or "the upstream stream failed")


def error_from_bedrock(body: dict[str, Any], status: int | None) -> ApiError | None:
    """The error a failed Converse answer carries; None for a successful one.

    A failed answer may also come from the gateway itself (Envoy's JSON error replies),
    shaped `{"error": {"code", "message"}}`: keep its message.
    """
    if status is None or status < 400:
        return None
    named = error_kind(as_str(body.get("__type")) or as_str(body.get("code")))
    kind = named or (ErrorKind.SERVER if status in _SERVER_STATUSES else kind_for_status(status))
    message = _message(body) or _message(as_dict(body.get("error")))
    return ApiError(kind, message or f"the upstream answered HTTP {status}")


def _message(body: dict[str, Any]) -> str:
    return as_str(body.get("message")) or as_str(body.get("Message"))
