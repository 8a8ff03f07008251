"""OpenAI Responses (`/v1/responses`) → conversation view.

`input` is a string (one user turn) or a list of items. Message items, function calls and function
call outputs map onto chat messages; other items (reasoning, built-in tool calls, references, ...)
carry no conversation text and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plano_extproc.wire.content import field_text
from plano_extproc.wire.conversation import Message, Role, ToolCall
from plano_extproc.wire.fields import (
    expect_object,
    invalid_value,
    optional_str,
    required,
    required_choice,
    required_str,
    wrong_type,
)

# Tool results arrive as function_call_output items, never as a message role.
_ROLES = {role.value: role for role in Role if role is not Role.TOOL}
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


def responses_messages(body: dict[str, Any]) -> tuple[Message, ...]:
    instructions = optional_str(body, "instructions", "")
    leading = () if instructions is None else (Message(Role.SYSTEM, instructions),)
    return leading + tuple(_input_messages(required(body, "input", "")))


def _input_messages(value: object) -> Iterator[Message]:
    if isinstance(value, str):
        yield Message(Role.USER, value)
        return
    if not isinstance(value, list):
        raise wrong_type("input", "a string or a list of input items", value)
    if not value:
        raise invalid_value("input", "must contain at least one item")
    for index, item in enumerate(value):
        message = _item_message(item, f"input[{index}]")
        if message is not None:
            yield message


def _item_message(value: object, path: str) -> Message | None:
    item = expect_object(value, path, "an input item object")
    # A bare `{"role", "content"}` is the easy form of a message item.
    kind = optional_str(item, "type", path) or "message"
    if kind == "message":
        return _message(item, path)
    if kind == "function_call":
        call = ToolCall(
            id=required_str(item, "call_id", path),
            name=required_str(item, "name", path),
            arguments=required_str(item, "arguments", path),
        )
        return Message(Role.ASSISTANT, "", tool_calls=(call,))
    if kind == "function_call_output":
        call_id = required_str(item, "call_id", path)
        output = field_text(item, "output", path, _TEXT_PARTS)
        return Message(Role.TOOL, output, tool_call_id=call_id)
    return None


def _message(item: dict[str, Any], path: str) -> Message:
    role = required_choice(item, "role", path, _ROLES, "role")
    return Message(role, field_text(item, "content", path, _TEXT_PARTS))
