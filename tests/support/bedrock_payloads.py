"""What the test upstream answers as Amazon Bedrock: Converse JSON bodies, ConverseStream answers
as AWS event-stream frames, and Bedrock's error bodies.

Bedrock's paths name the model (`/model/{modelId}/converse` and `.../converse-stream`), and its
answers do not: the mock reports the model it was asked for in a prompt-router trace, the one
place a Converse answer names a model, so tests can see which model was called.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from tests.support.aws_eventstream import event_message

# The model id may be an ARN, holding a "/" once the server has decoded the path.
_PATH = re.compile(r"/model/(?P<model>.+)/(?P<operation>converse|converse-stream)")
# Bedrock pads its stream events with a field of random length, against traffic analysis.
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ERROR_TYPE_HEADER = "x-amzn-errortype"
_ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}


def bedrock_route(path: str) -> tuple[str, bool] | None:
    """The model a Bedrock path names and whether it asks for a stream; None for other paths."""
    match = _PATH.fullmatch(path)
    if match is None:
        return None
    return unquote(match["model"]), match["operation"] == "converse-stream"


def converse_answer(model: str, text: str, usage: tuple[int, int]) -> dict[str, Any]:
    prompt, completion = usage
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": _usage(prompt, completion),
        "metrics": {"latencyMs": 1},
        "trace": {"promptRouter": {"invokedModelId": model}},
    }


def converse_stream(
    pieces: tuple[str, ...], usage: tuple[int, int]
) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """The head, text deltas and tail of a ConverseStream answer, one frame each."""
    prompt, completion = usage
    head = (_event("messageStart", {"role": "assistant"}),)
    deltas = tuple(
        _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        for piece in pieces
    )
    tail = (
        _event("contentBlockStop", {"contentBlockIndex": 0}),
        _event("messageStop", {"stopReason": "end_turn"}),
        _event("metadata", {"usage": _usage(prompt, completion), "metrics": {"latencyMs": 1}}),
    )
    return head, deltas, tail


def bedrock_error(status: int, message: str) -> tuple[dict[str, Any], dict[str, str]]:
    """An error body and its headers, which name the exception."""
    error_type = _ERROR_TYPES.get(status, "InternalServerException")
    return {"message": message}, {ERROR_TYPE_HEADER: error_type}


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}


def _event(event_type: str, payload: dict[str, Any]) -> bytes:
    return event_message(event_type, {**payload, "p": _PADDING[: len(event_type)]})
