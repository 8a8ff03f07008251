"""OpenAI Responses request bodies → the neutral Request (a Responses client routed to Anthropic).

- `instructions` and system or developer message items become the instructions;
- message, function_call and function_call_output items become turns; reasoning items are
  dropped, like thinking blocks, and so are `reasoning`, `store`, `include`, `truncation`,
  `metadata` and `service_tier`;
- refused (400): `previous_response_id` (the gateway replaces it by the stored conversation
  when `state_storage` is configured, before translating) and `conversation`, whose state is
  stored at OpenAI, a JSON `text.format`, built-in tools, file inputs and other item types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plano_extproc.wire.conversation import Role
from plano_extproc.wire.errors import untranslatable
from plano_extproc.wire.fields import (
    child,
    expect_object,
    optional_bool,
    optional_flag,
    optional_number,
    optional_object,
    optional_positive_int,
    optional_str,
    required,
    required_choice,
    required_str,
    wrong_type,
)
from plano_extproc.wire.ir import Image, Request, Text, ToolCall, ToolResult, Turn
from plano_extproc.wire.openai_fields import (
    PartReader,
    joined_text,
    read_parts,
    read_tool_choice,
    read_tools,
    text_part,
)

_SYSTEM_ROLES = frozenset({"system", "developer"})
_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT}
_DROPPED_ITEMS = frozenset({"reasoning"})
_STATEFUL_FIELDS = {
    "previous_response_id": "stored conversation state cannot be used upstream without the "
    "gateway's state_storage",
    "conversation": "stored conversation state cannot be used upstream",
}
_TEXT_FORMATS = frozenset({"text"})


def _image_part(part: dict[str, Any], path: str) -> Image:
    url = optional_str(part, "image_url", path)
    if url is None:
        raise untranslatable(path, "only images given by `image_url` can be sent upstream")
    return Image(url)


def _refusal_part(part: dict[str, Any], path: str) -> Text:
    return Text(required_str(part, "refusal", path))


_PARTS: dict[str, PartReader] = {
    "input_text": text_part,
    "output_text": text_part,
    "text": text_part,
    "input_image": _image_part,
    "refusal": _refusal_part,
}


def _same_object(obj: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """Responses function tools and choices are flat: their fields sit on the object itself."""
    return obj, path


def read_responses_request(body: dict[str, Any]) -> Request:
    _refuse_untranslatable(body)
    instructions = optional_str(body, "instructions", "")
    system = [] if instructions is None else [instructions]
    turns: list[Turn] = []
    items = required(body, "input", "")
    if isinstance(items, str):
        turns.append(Turn(Role.USER, (Text(items),)))
    elif isinstance(items, list):
        for index, value in enumerate(items):
            _read_item(value, f"input[{index}]", system, turns)
    else:
        raise wrong_type("input", "a string or a list of input items", items)
    return Request(
        system=tuple(system),
        turns=tuple(turns),
        max_tokens=optional_positive_int(body, "max_output_tokens", ""),
        temperature=optional_number(body, "temperature", ""),
        top_p=optional_number(body, "top_p", ""),
        stream=optional_bool(body, "stream", ""),
        tools=read_tools(body, _same_object),
        tool_choice=read_tool_choice(body, _same_object),
        parallel_tool_calls=optional_flag(body, "parallel_tool_calls", ""),
        user=optional_str(body, "user", ""),
    )


def _refuse_untranslatable(body: dict[str, Any]) -> None:
    for key, problem in _STATEFUL_FIELDS.items():
        if body.get(key) is not None:
            raise untranslatable(key, problem)
    text = optional_object(body, "text", "") or {}
    text_format = optional_object(text, "format", "text")
    if text_format is not None and text_format.get("type") not in _TEXT_FORMATS:
        raise untranslatable("text.format", "the upstream has no JSON output mode")


def _read_item(value: object, path: str, system: list[str], turns: list[Turn]) -> None:
    item = expect_object(value, path, "an input item object")
    # A bare `{"role", "content"}` is the easy form of a message item.
    kind = optional_str(item, "type", path) or "message"
    if kind in _DROPPED_ITEMS:
        return
    if kind == "message" and item.get("role") in _SYSTEM_ROLES:
        parts = read_parts(required(item, "content", path), child(path, "content"), _PARTS)
        system.append(joined_text(parts))
        return
    reader = _ITEM_READERS.get(kind)
    if reader is None:
        raise untranslatable(child(path, "type"), f'"{kind}" items have no upstream equivalent')
    turns.append(reader(item, path))


def _message_item(item: dict[str, Any], path: str) -> Turn:
    role = required_choice(item, "role", path, _ROLES, "role")
    return Turn(role, read_parts(required(item, "content", path), child(path, "content"), _PARTS))


def _function_call_item(item: dict[str, Any], path: str) -> Turn:
    call = ToolCall(
        id=required_str(item, "call_id", path),
        name=required_str(item, "name", path),
        arguments=required_str(item, "arguments", path),
    )
    return Turn(Role.ASSISTANT, (call,))


def _function_call_output_item(item: dict[str, Any], path: str) -> Turn:
    output = read_parts(required(item, "output", path), child(path, "output"), _PARTS)
    return Turn(Role.USER, (ToolResult(required_str(item, "call_id", path), output),))


_ITEM_READERS: dict[str, Callable[[dict[str, Any], str], Turn]] = {
    "message": _message_item,
    "function_call": _function_call_item,
    "function_call_output": _function_call_output_item,
}
