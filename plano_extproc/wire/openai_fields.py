"""Request pieces that Chat Completions and Responses write alike: content parts, function
tools and the tool choice. The two APIs differ only in where a function's fields sit, so the
callers pass that difference in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from plano_extproc.wire.content import CONTENT_EXPECTED, content_part
from plano_extproc.wire.errors import untranslatable
from plano_extproc.wire.fields import (
    child,
    expect_object,
    invalid_value,
    optional_list,
    optional_object,
    optional_str,
    required_str,
    wrong_type,
)
from plano_extproc.wire.ir import Image, Text, Tool, ToolChoice, ToolChoiceMode

PartReader = Callable[[dict[str, Any], str], Text | Image]
# Where a function tool (or a named tool choice) keeps its fields, given the object and its path.
FunctionLocator = Callable[[dict[str, Any], str], tuple[dict[str, Any], str]]

# A function without parameters still needs a schema on the Anthropic side.
EMPTY_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}}
_TOOL_CHOICE_MODES = {
    "auto": ToolChoiceMode.AUTO,
    "none": ToolChoiceMode.NONE,
    "required": ToolChoiceMode.REQUIRED,
}


def read_parts(
    content: object, path: str, readers: Mapping[str, PartReader]
) -> tuple[Text | Image, ...]:
    """A string or a list of typed parts; a part type without a reader is refused."""
    if isinstance(content, str):
        return (Text(content),) if content else ()
    if not isinstance(content, list):
        raise wrong_type(path, CONTENT_EXPECTED, content)
    parts = []
    for index, value in enumerate(content):
        part_path = f"{path}[{index}]"
        part, kind = content_part(value, part_path)
        reader = readers.get(kind)
        if reader is None:
            raise untranslatable(part_path, f'content of type "{kind}" has no upstream equivalent')
        parts.append(reader(part, part_path))
    return tuple(parts)


def text_part(part: dict[str, Any], path: str) -> Text:
    return Text(required_str(part, "text", path))


def joined_text(parts: tuple[Text | Image, ...]) -> str:
    """The text of instructions given as parts, one part per line."""
    return "\n".join(part.text for part in parts if isinstance(part, Text))


def read_tools(body: Mapping[str, Any], locate: FunctionLocator) -> tuple[Tool, ...]:
    tools = []
    for index, value in enumerate(optional_list(body, "tools", "", "a list of tools")):
        path = f"tools[{index}]"
        tool = expect_object(value, path, "a tool object")
        kind = required_str(tool, "type", path)
        if kind != "function":
            raise untranslatable(child(path, "type"), f'"{kind}" tools have no upstream equivalent')
        function, function_path = locate(tool, path)
        parameters = optional_object(function, "parameters", function_path)
        tools.append(
            Tool(
                name=required_str(function, "name", function_path),
                description=optional_str(function, "description", function_path),
                parameters=dict(EMPTY_SCHEMA) if parameters is None else parameters,
            )
        )
    return tuple(tools)


def read_tool_choice(body: Mapping[str, Any], locate: FunctionLocator) -> ToolChoice | None:
    value = body.get("tool_choice")
    if value is None:
        return None
    if isinstance(value, str):
        mode = _TOOL_CHOICE_MODES.get(value)
        if mode is None:
            allowed = ", ".join(_TOOL_CHOICE_MODES)
            raise invalid_value("tool_choice", f'unknown value "{value}"; expected {allowed}')
        return ToolChoice(mode)
    choice = expect_object(value, "tool_choice", "a string or an object")
    kind = required_str(choice, "type", "tool_choice")
    if kind != "function":
        raise untranslatable("tool_choice.type", f'"{kind}" has no upstream equivalent')
    function, function_path = locate(choice, "tool_choice")
    return ToolChoice(ToolChoiceMode.NAMED, required_str(function, "name", function_path))
