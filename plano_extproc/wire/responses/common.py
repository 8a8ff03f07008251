"""The pieces of a Responses answer, shared by the streamed and the non-streamed form.

Ids are derived from the upstream's message id, so that an answer is the same however it is
delivered: `resp_<id>` for the response, `msg_<id>_<n>` and `fc_<id>_<n>` for its n-th item.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.ir import StopReason, ToolCall, Usage
from plano_extproc.wire.lenient import as_count, as_dict

_INCOMPLETE_REASONS = {
    StopReason.MAX_TOKENS: "max_output_tokens",
    StopReason.CONTENT_FILTER: "content_filter",
}


def response_id(upstream_id: str) -> str:
    return f"resp_{_bare(upstream_id)}"


def item_id(prefix: str, response: str, index: int) -> str:
    return f"{prefix}_{_bare(response)}_{index}"


def _bare(identifier: str) -> str:
    """The id without its vendor prefix: "msg_01X" → "01X"."""
    return identifier.partition("_")[2] or identifier


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def message_item(identifier: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": identifier,
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(identifier: str, call: ToolCall, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": identifier,
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "status": status,
    }


def responses_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def usage_from_responses(value: object) -> Usage:
    usage = as_dict(value)
    return Usage(
        input_tokens=as_count(usage.get("input_tokens")),
        output_tokens=as_count(usage.get("output_tokens")),
        cached_tokens=as_count(as_dict(usage.get("input_tokens_details")).get("cached_tokens")),
    )


def final_status(stop: StopReason) -> tuple[str, dict[str, Any] | None]:
    """The `status` and `incomplete_details` of a response that stopped for `stop`."""
    reason = _INCOMPLETE_REASONS.get(stop)
    return ("completed", None) if reason is None else ("incomplete", {"reason": reason})


def response_object(
    identifier: str,
    *,
    created: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None = None,
    incomplete_details: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A response object; the request settings it echoes are unknown here, so left at defaults."""
    return {
        "id": identifier,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None if usage is None else responses_usage(usage),
    }
