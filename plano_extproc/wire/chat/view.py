"""OpenAI Chat Completions (`/v1/chat/completions`) → conversation view."""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.content import field_text
from plano_extproc.wire.conversation import Message, Role, ToolCall
from plano_extproc.wire.fields import (
    child,
    expect_object,
    optional_str,
    required,
    required_choice,
    required_nonempty_list,
    required_str,
    wrong_type,
)

# The deprecated function-result role is a tool result without a call id.
_ROLES = {**{role.value: role for role in Role}, "function": Role.TOOL}
_TEXT_PARTS = frozenset({"text"})
# Where each tool call type keeps its arguments: `{"type": kind, kind: {"name", key}}`.
_TOOL_CALL_ARGUMENTS = {"function": "arguments", "custom": "input"}


def chat_messages(body: dict[str, Any]) -> tuple[Message, ...]:
    items = required_nonempty_list(body, "messages", "", "a list of messages", "message")
    return tuple(_message(item, f"messages[{index}]") for index, item in enumerate(items))


def _message(value: object, path: str) -> Message:
    obj = expect_object(value, path, "a message object")
    role = required_choice(obj, "role", path, _ROLES, "role")
    if role is Role.ASSISTANT:
        # An assistant turn may be only tool calls (or a refusal), so its content may be absent.
        text = field_text(obj, "content", path, _TEXT_PARTS, optional=True)
        return Message(role, text, tool_calls=_tool_calls(obj, path))
    text = field_text(obj, "content", path, _TEXT_PARTS)
    tool_call_id = required_str(obj, "tool_call_id", path) if obj["role"] == "tool" else None
    return Message(role, text, tool_call_id=tool_call_id)


def _tool_calls(message: dict[str, Any], path: str) -> tuple[ToolCall, ...]:
    value = message.get("tool_calls")
    if value is None:
        return ()
    calls_path = child(path, "tool_calls")
    if not isinstance(value, list):
        raise wrong_type(calls_path, "a list of tool calls", value)
    calls = (_tool_call(item, f"{calls_path}[{index}]") for index, item in enumerate(value))
    return tuple(call for call in calls if call is not None)


def _tool_call(value: object, path: str) -> ToolCall | None:
    """A function or custom tool call; calls of types unknown to us are skipped."""
    call = expect_object(value, path, "a tool call object")
    kind = optional_str(call, "type", path) or "function"
    arguments_key = _TOOL_CALL_ARGUMENTS.get(kind)
    if arguments_key is None:
        return None
    payload_path = child(path, kind)
    payload = expect_object(required(call, kind, path), payload_path)
    return ToolCall(
        id=required_str(call, "id", path),
        name=required_str(payload, "name", payload_path),
        arguments=required_str(payload, arguments_key, payload_path),
    )
