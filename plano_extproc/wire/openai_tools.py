"""Request pieces that Chat Completions and Responses write alike: function tools, the tool
choice and the output format, which only a translation reads. The two APIs differ only in
where a function's fields (and the output format) sit, so the callers pass that difference in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from plano_extproc.wire.errors import untranslatable
from plano_extproc.wire.fields import (
    child,
    expect_object,
    invalid_value,
    optional_list,
    optional_object,
    optional_str,
    required_str,
)
from plano_extproc.wire.ir import Tool, ToolChoice, ToolChoiceMode

# Where a function tool (or a named tool choice) keeps its fields, given the object and its path.
FunctionLocator = Callable[[dict[str, Any], str], tuple[dict[str, Any], str]]

# A function without parameters still needs a schema on the Anthropic side.
EMPTY_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}}
_TEXT_FORMATS = frozenset({"text"})
_TOOL_CHOICE_MODES = {
    "auto": ToolChoiceMode.AUTO,
    "none": ToolChoiceMode.NONE,
    "required": ToolChoiceMode.REQUIRED,
}


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


def refuse_output_format(output_format: Mapping[str, Any] | None, path: str) -> None:
    """Structured output (a JSON object or schema) has no upstream equivalent; text has."""
    if output_format is None:
        return
    if optional_str(output_format, "type", path) not in _TEXT_FORMATS:
        raise untranslatable(path, "the upstream has no JSON output mode")
