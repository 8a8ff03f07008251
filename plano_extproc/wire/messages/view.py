"""Anthropic Messages (`/v1/messages`) → conversation view.

A user turn's `tool_result` blocks become TOOL messages placed before that turn's own text, and an
assistant turn's `tool_use` blocks become its tool calls — the shape the chat view expects.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.content import CONTENT_EXPECTED, content_part, content_text, field_text
from plano_extproc.wire.conversation import Message, Role, ToolCall
from plano_extproc.wire.fields import (
    child,
    expect_object,
    invalid_value,
    required,
    required_choice,
    required_nonempty_list,
    required_str,
    wrong_type,
)
from plano_extproc.wire.json_codec import encode_json

_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT}
_TEXT_BLOCKS = frozenset({"text"})


def anthropic_messages(body: dict[str, Any]) -> tuple[Message, ...]:
    _check_max_tokens(required(body, "max_tokens", ""))
    items = required_nonempty_list(body, "messages", "", "a list of messages", "message")
    messages = _system_messages(body)
    for index, item in enumerate(items):
        messages.extend(_turn(item, f"messages[{index}]"))
    return tuple(messages)


def _check_max_tokens(value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise wrong_type("max_tokens", "a positive integer", value)
    if value < 1:
        raise invalid_value("max_tokens", f"expected a positive integer, got {value}")


def _system_messages(body: dict[str, Any]) -> list[Message]:
    system = body.get("system")
    if system is None:
        return []
    return [Message(Role.SYSTEM, content_text(system, "system", _TEXT_BLOCKS))]


def _turn(value: object, path: str) -> list[Message]:
    """One Anthropic turn; a user turn carrying tool results yields several messages."""
    obj = expect_object(value, path, "a message object")
    role = required_choice(obj, "role", path, _ROLES, "role")
    content = required(obj, "content", path)
    content_path = child(path, "content")
    if isinstance(content, str):
        return [Message(role, content)]
    if not isinstance(content, list):
        raise wrong_type(content_path, CONTENT_EXPECTED, content)

    texts: list[str] = []
    tool_calls: list[ToolCall] = []
    out: list[Message] = []
    for index, item in enumerate(content):
        block_path = f"{content_path}[{index}]"
        block, kind = content_part(item, block_path)
        if kind == "text":
            texts.append(required_str(block, "text", block_path))
        elif kind == "tool_use":
            _require_role(role, Role.ASSISTANT, kind, block_path)
            tool_calls.append(_tool_use(block, block_path))
        elif kind == "tool_result":
            _require_role(role, Role.USER, kind, block_path)
            out.append(_tool_result(block, block_path))
    # A user turn made only of tool results is fully represented by its TOOL messages.
    if texts or not out:
        out.append(Message(role, "\n".join(texts), tool_calls=tuple(tool_calls)))
    return out


def _require_role(role: Role, expected: Role, kind: str, path: str) -> None:
    if role is not expected:
        raise invalid_value(path, f"{kind} blocks are only allowed in {expected} messages")


def _tool_use(block: dict[str, Any], path: str) -> ToolCall:
    arguments = expect_object(required(block, "input", path), child(path, "input"))
    return ToolCall(
        id=required_str(block, "id", path),
        name=required_str(block, "name", path),
        arguments=encode_json(arguments).decode(),
    )


def _tool_result(block: dict[str, Any], path: str) -> Message:
    tool_use_id = required_str(block, "tool_use_id", path)
    text = field_text(block, "content", path, _TEXT_BLOCKS, optional=True)
    return Message(Role.TOOL, text, tool_call_id=tool_use_id)
