"""Pure logic of Responses conversation state: prepending a stored conversation to a request,
and reading a completed answer's id and output items."""

from __future__ import annotations

from typing import Any

from plano_extproc.conversations.base import Items

PREVIOUS_RESPONSE_ID = "previous_response_id"
COMPLETED_EVENT = "response.completed"
RESPONSE_ID_PREFIX = "resp_"


def input_items(value: object) -> Items:
    """A Responses `input` as items: a string is one user message."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def previous_response_id(body: dict[str, Any]) -> str | None:
    value = body.get(PREVIOUS_RESPONSE_ID)
    return value if isinstance(value, str) and value else None


def is_response_id(value: str) -> bool:
    """Whether `value` can name a stored response (ids are `resp_...`); other keys of the
    store, like a request's pending items, can never be read through it."""
    return value.startswith(RESPONSE_ID_PREFIX)


def with_history(body: dict[str, Any], history: Items) -> dict[str, Any]:
    """`body` with `history` before its own input, and no `previous_response_id`.
    `instructions` are the request's own: they are never stored nor carried over."""
    expanded = {key: value for key, value in body.items() if key != PREVIOUS_RESPONSE_ID}
    expanded["input"] = [*history, *input_items(body.get("input"))]
    return expanded


def completed_exchange(response: object) -> tuple[str, Items] | None:
    """(id, output items) of a completed Responses object; None for anything else."""
    if not isinstance(response, dict) or response.get("status") != "completed":
        return None
    response_id, output = response.get("id"), response.get("output")
    if not isinstance(response_id, str) or not isinstance(output, list):
        return None
    return response_id, [item for item in output if isinstance(item, dict)]
