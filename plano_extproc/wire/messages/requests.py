"""Anthropic Messages request bodies ⇄ the neutral Request.

Reading (a Messages client routed to an OpenAI-compatible upstream):
- thinking blocks (and the `thinking` setting) are dropped: the reasoning of one vendor's model
  cannot be replayed to another's; so is a tool result's `is_error`, which OpenAI tool
  messages cannot carry (the result's text still says what went wrong);
- server tools (web search, code execution, ...) and blocks only they produce are refused (400),
  as are documents; `top_k`, `service_tier` and cache controls are dropped.

Writing (a chat or Responses client routed to Anthropic):
- `max_tokens` is required by Anthropic: a request without a limit gets DEFAULT_MAX_TOKENS;
- temperature is clamped to Anthropic's range, 0 to 1 (OpenAI's goes to 2);
- turns of the same role are merged, as Anthropic requires alternation, and within a user turn
  the tool results come first, as Anthropic requires;
- a tool call's arguments must be a JSON object: "" (a call without arguments) is sent as {},
  anything else that is not an object is refused (400) rather than invented;
- `parallel_tool_calls: false` becomes `disable_parallel_tool_use`, `user` the metadata user id.
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
    optional_list,
    optional_number,
    optional_object,
    optional_positive_int,
    optional_str,
    required,
    required_choice,
    required_nonempty_list,
    required_str,
    string_list,
)
from plano_extproc.wire.ir import (
    Image,
    Part,
    Request,
    Text,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceMode,
    ToolResult,
    Turn,
)
from plano_extproc.wire.json_codec import encode_json
from plano_extproc.wire.messages.common import (
    image_source,
    image_url,
    sendable,
    tool_input,
)
from plano_extproc.wire.openai_fields import PartReader, read_parts, text_part

DEFAULT_MAX_TOKENS = 4096
MAX_TEMPERATURE = 1.0
_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT}
_DROPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})
# Anthropic's own tool types carry a version suffix; a client-defined tool has "custom" or none.
_CLIENT_TOOL_TYPES = frozenset({"custom"})
_TOOL_CHOICE_MODES = {
    "auto": ToolChoiceMode.AUTO,
    "none": ToolChoiceMode.NONE,
    "any": ToolChoiceMode.REQUIRED,
    "tool": ToolChoiceMode.NAMED,
}
_TOOL_CHOICE_NAMES = {mode: name for name, mode in _TOOL_CHOICE_MODES.items()}


def _image_block(block: dict[str, Any], path: str) -> Image:
    source_path = child(path, "source")
    url = image_url(expect_object(required(block, "source", path), source_path))
    if url is None:
        raise untranslatable(source_path, "only base64 and url image sources can be translated")
    return Image(url)


def _tool_use_block(block: dict[str, Any], path: str) -> ToolCall:
    arguments = expect_object(required(block, "input", path), child(path, "input"))
    return ToolCall(
        id=required_str(block, "id", path),
        name=required_str(block, "name", path),
        arguments=encode_json(arguments).decode(),
    )


def _tool_result_block(block: dict[str, Any], path: str) -> ToolResult:
    content = block.get("content")
    return ToolResult(
        call_id=required_str(block, "tool_use_id", path),
        content=() if content is None else read_parts(content, child(path, "content"), _MEDIA),
    )


_MEDIA: dict[str, PartReader] = {"text": text_part, "image": _image_block}
_BLOCKS: dict[Role, dict[str, Callable[[dict[str, Any], str], Part]]] = {
    Role.USER: {**_MEDIA, "tool_result": _tool_result_block},
    Role.ASSISTANT: {"text": text_part, "tool_use": _tool_use_block},
}


def read_messages_request(body: dict[str, Any]) -> Request:
    metadata = optional_object(body, "metadata", "") or {}
    choice, parallel = _tool_choice(body)
    return Request(
        system=_system(body),
        turns=tuple(_turns(body)),
        max_tokens=optional_positive_int(body, "max_tokens", ""),
        temperature=optional_number(body, "temperature", ""),
        top_p=optional_number(body, "top_p", ""),
        stop=string_list(optional_list(body, "stop_sequences", "", "a list"), "stop_sequences"),
        stream=optional_bool(body, "stream", ""),
        tools=_tools(body),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        user=optional_str(metadata, "user_id", "metadata"),
    )


def _system(body: dict[str, Any]) -> tuple[str, ...]:
    system = body.get("system")
    if system is None:
        return ()
    texts = read_parts(system, "system", {"text": text_part})
    return tuple(part.text for part in texts if isinstance(part, Text))


def _turns(body: dict[str, Any]) -> list[Turn]:
    turns = []
    for index, value in enumerate(
        required_nonempty_list(body, "messages", "", "a list of messages", "message")
    ):
        path = f"messages[{index}]"
        message = expect_object(value, path, "a message object")
        role = required_choice(message, "role", path, _ROLES, "role")
        turns.append(Turn(role, _blocks(required(message, "content", path), path, role)))
    return turns


def _blocks(content: object, path: str, role: Role) -> tuple[Part, ...]:
    content_path = child(path, "content")
    if not isinstance(content, list):
        return read_parts(content, content_path, {})  # a string, or the type error
    readers = _BLOCKS[role]
    parts = []
    for index, value in enumerate(content):
        block_path = f"{content_path}[{index}]"
        block = expect_object(value, block_path, "a content block object")
        kind = required_str(block, "type", block_path)
        if kind in _DROPPED_BLOCKS:
            continue
        reader = readers.get(kind)
        if reader is None:
            problem = f'"{kind}" blocks in {role} turns have no upstream equivalent'
            raise untranslatable(block_path, problem)
        parts.append(reader(block, block_path))
    return tuple(parts)


def _tools(body: dict[str, Any]) -> tuple[Tool, ...]:
    tools = []
    for index, value in enumerate(optional_list(body, "tools", "", "a list of tools")):
        path = f"tools[{index}]"
        tool = expect_object(value, path, "a tool object")
        kind = optional_str(tool, "type", path)
        if kind is not None and kind not in _CLIENT_TOOL_TYPES:
            raise untranslatable(child(path, "type"), f'"{kind}" tools have no upstream equivalent')
        tools.append(
            Tool(
                name=required_str(tool, "name", path),
                description=optional_str(tool, "description", path),
                parameters=expect_object(
                    required(tool, "input_schema", path), child(path, "input_schema")
                ),
            )
        )
    return tuple(tools)


def _tool_choice(body: dict[str, Any]) -> tuple[ToolChoice | None, bool | None]:
    choice = optional_object(body, "tool_choice", "")
    if choice is None:
        return None, None
    mode = required_choice(choice, "type", "tool_choice", _TOOL_CHOICE_MODES, "tool choice")
    name = required_str(choice, "name", "tool_choice") if mode is ToolChoiceMode.NAMED else None
    disabled = optional_flag(choice, "disable_parallel_tool_use", "tool_choice")
    return ToolChoice(mode, name), None if disabled is None else not disabled


def write_messages_request(request: Request, *, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": _messages(request.turns),
    }
    temperature = request.temperature
    optional: dict[str, Any] = {
        "system": _anthropic_system(request.system),
        "temperature": None if temperature is None else min(temperature, MAX_TEMPERATURE),
        "top_p": request.top_p,
        "stop_sequences": list(request.stop) or None,
        "stream": request.stream or None,
        "metadata": None if request.user is None else {"user_id": request.user},
    }
    if request.tools:
        optional["tools"] = [_anthropic_tool(tool) for tool in request.tools]
        optional["tool_choice"] = _anthropic_tool_choice(request)
    body.update((key, value) for key, value in optional.items() if value is not None)
    return body


def _anthropic_system(system: tuple[str, ...]) -> str | list[dict[str, Any]] | None:
    texts = [text for text in system if text]  # empty text blocks are refused
    if not texts:
        return None
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": text} for text in texts]


def _messages(turns: tuple[Turn, ...]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for turn in turns:
        blocks = [_block(part) for part in turn.parts if sendable(part)]
        if not blocks:
            continue
        if messages and messages[-1]["role"] == turn.role.value:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": turn.role.value, "content": blocks})
    for message in messages:
        message["content"].sort(key=_tool_results_first)
    return messages


def _tool_results_first(block: dict[str, Any]) -> int:
    return 0 if block["type"] == "tool_result" else 1


def _block(part: Part) -> dict[str, Any]:
    if isinstance(part, Text | Image):
        return _media_block(part)
    if isinstance(part, ToolCall):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": _input(part)}
    return {
        "type": "tool_result",
        "tool_use_id": part.call_id,
        "content": [_media_block(item) for item in part.content if sendable(item)],
    }


def _media_block(part: Text | Image) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    source = image_source(part.url)
    if source is None:
        problem = f"{part.url[:40]!r} is neither an http(s) URL nor a base64 data URL"
        raise untranslatable("image_url", problem)
    return {"type": "image", "source": source}


def _input(call: ToolCall) -> dict[str, Any]:
    arguments = tool_input(call.arguments)
    if arguments is None:
        problem = "arguments must be a JSON object to be sent upstream"
        raise untranslatable(f"tool call {call.id!r}", problem)
    return arguments


def _anthropic_tool(tool: Tool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        spec["description"] = tool.description
    spec["input_schema"] = tool.parameters
    return spec


def _anthropic_tool_choice(request: Request) -> dict[str, Any] | None:
    parallel_off = request.parallel_tool_calls is False
    if request.tool_choice is None and not parallel_off:
        return None
    choice = request.tool_choice or ToolChoice(ToolChoiceMode.AUTO)
    spec: dict[str, Any] = {"type": _TOOL_CHOICE_NAMES[choice.mode]}
    if choice.name is not None:
        spec["name"] = choice.name
    if parallel_off and choice.mode is not ToolChoiceMode.NONE:
        spec["disable_parallel_tool_use"] = True
    return spec
