"""OpenAI Chat Completions request bodies ⇄ the neutral Request.

Reading (a chat client routed to Anthropic):
- system and developer messages become the instructions, in order, wherever they stood;
- `n` above 1, a JSON `response_format` and the deprecated `functions` are refused (400):
  Anthropic returns a single choice and has no JSON mode, and ignoring them would change the
  answer the client gets;
- tuning with no Anthropic counterpart is dropped: logprobs, seed, penalties, logit_bias,
  reasoning_effort, service_tier, store, metadata, modalities, prediction.

Writing (an Anthropic client routed to an OpenAI-compatible upstream):
- the token limit goes out as `max_completion_tokens`: OpenAI's reasoning models refuse
  `max_tokens`, while compatible servers that predate the new name ignore it rather than fail;
- a stream asks for usage (`stream_options.include_usage`) so that usage can be reported;
- the instructions become one system message, as some chat templates accept no second one;
- tool results become `tool` messages; their images, which a tool message cannot carry,
  follow in a user message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plano_extproc.wire.chat.common import chat_tool_call
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
from plano_extproc.wire.openai_fields import (
    PartReader,
    joined_text,
    read_parts,
    read_tool_choice,
    read_tools,
    text_part,
)

_SYSTEM_SEPARATOR = "\n\n"
_SYSTEM_ROLES = frozenset({"system", "developer"})
_TEXT_FORMATS = frozenset({"text"})


def _image_part(part: dict[str, Any], path: str) -> Image:
    image = required(part, "image_url", path)
    if isinstance(image, str):
        return Image(image)
    image_path = child(path, "image_url")
    return Image(required_str(expect_object(image, image_path), "url", image_path))


def _refusal_part(part: dict[str, Any], path: str) -> Text:
    return Text(required_str(part, "refusal", path))


_TEXT_PARTS: dict[str, PartReader] = {"text": text_part}
_USER_PARTS: dict[str, PartReader] = {"text": text_part, "image_url": _image_part}
_ASSISTANT_PARTS: dict[str, PartReader] = {"text": text_part, "refusal": _refusal_part}


def _function(obj: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    function_path = child(path, "function")
    return expect_object(required(obj, "function", path), function_path), function_path


def read_chat_request(body: dict[str, Any]) -> Request:
    _refuse_untranslatable(body)
    system: list[str] = []
    turns: list[Turn] = []
    messages = required_nonempty_list(body, "messages", "", "a list of messages", "message")
    for index, value in enumerate(messages):
        path = f"messages[{index}]"
        message = expect_object(value, path, "a message object")
        role = required_str(message, "role", path)
        if role in _SYSTEM_ROLES:
            system.append(_system_text(message, path))
            continue
        reader = _TURN_READERS.get(role)
        if reader is None:
            problem = f'the "{role}" role has no upstream equivalent'
            raise untranslatable(child(path, "role"), problem)
        turns.append(reader(message, path))
    return Request(
        system=tuple(system),
        turns=tuple(turns),
        max_tokens=_max_tokens(body),
        temperature=optional_number(body, "temperature", ""),
        top_p=optional_number(body, "top_p", ""),
        stop=() if body.get("stop") is None else string_list(body["stop"], "stop"),
        stream=optional_bool(body, "stream", ""),
        tools=read_tools(body, _function),
        tool_choice=read_tool_choice(body, _function),
        parallel_tool_calls=optional_flag(body, "parallel_tool_calls", ""),
        user=optional_str(body, "user", ""),
    )


def _refuse_untranslatable(body: dict[str, Any]) -> None:
    choices = optional_positive_int(body, "n", "")
    if choices is not None and choices > 1:
        raise untranslatable("n", "only one choice can be generated upstream")
    response_format = optional_object(body, "response_format", "")
    if response_format is not None and response_format.get("type") not in _TEXT_FORMATS:
        raise untranslatable("response_format", "the upstream has no JSON output mode")
    if body.get("functions") is not None:
        raise untranslatable("functions", "deprecated; send `tools` instead")


def _max_tokens(body: dict[str, Any]) -> int | None:
    newer = optional_positive_int(body, "max_completion_tokens", "")
    return newer if newer is not None else optional_positive_int(body, "max_tokens", "")


def _system_text(message: dict[str, Any], path: str) -> str:
    return joined_text(
        read_parts(required(message, "content", path), child(path, "content"), _TEXT_PARTS)
    )


def _user_turn(message: dict[str, Any], path: str) -> Turn:
    content = required(message, "content", path)
    return Turn(Role.USER, read_parts(content, child(path, "content"), _USER_PARTS))


def _assistant_turn(message: dict[str, Any], path: str) -> Turn:
    content = message.get("content")
    parts: tuple[Part, ...] = (
        () if content is None else read_parts(content, child(path, "content"), _ASSISTANT_PARTS)
    )
    return Turn(Role.ASSISTANT, parts + _tool_calls(message, path))


def _tool_calls(message: dict[str, Any], path: str) -> tuple[ToolCall, ...]:
    calls_path = child(path, "tool_calls")
    calls = []
    for index, value in enumerate(optional_list(message, "tool_calls", path, "a list")):
        call_path = f"{calls_path}[{index}]"
        call = expect_object(value, call_path, "a tool call object")
        kind = optional_str(call, "type", call_path) or "function"
        if kind != "function":
            problem = f'"{kind}" tool calls have no upstream equivalent'
            raise untranslatable(child(call_path, "type"), problem)
        function, function_path = _function(call, call_path)
        calls.append(
            ToolCall(
                id=required_str(call, "id", call_path),
                name=required_str(function, "name", function_path),
                arguments=required_str(function, "arguments", function_path),
            )
        )
    return tuple(calls)


def _tool_turn(message: dict[str, Any], path: str) -> Turn:
    content = read_parts(required(message, "content", path), child(path, "content"), _TEXT_PARTS)
    result = ToolResult(required_str(message, "tool_call_id", path), content)
    return Turn(Role.USER, (result,))


_TURN_READERS: dict[str, Callable[[dict[str, Any], str], Turn]] = {
    "user": _user_turn,
    "assistant": _assistant_turn,
    "tool": _tool_turn,
}


def write_chat_request(request: Request, *, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": _messages(request)}
    optional: dict[str, Any] = {
        "max_completion_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "user": request.user,
    }
    if request.stream:
        optional |= {"stream": True, "stream_options": {"include_usage": True}}
    if request.tools:
        choice = request.tool_choice
        optional |= {
            "tools": [_chat_tool(tool) for tool in request.tools],
            "tool_choice": None if choice is None else _chat_tool_choice(choice),
            "parallel_tool_calls": request.parallel_tool_calls,
        }
    body.update((key, value) for key, value in optional.items() if value is not None)
    return body


def _messages(request: Request) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": _SYSTEM_SEPARATOR.join(request.system)})
    for turn in request.turns:
        if turn.role is Role.ASSISTANT:
            messages.append(_assistant_message(turn.parts))
        else:
            messages.extend(_user_messages(turn.parts))
    return messages


def _assistant_message(parts: tuple[Part, ...]) -> dict[str, Any]:
    texts = [part for part in parts if isinstance(part, Text)]
    message: dict[str, Any] = {"role": "assistant", "content": _content(texts) if texts else None}
    calls = [part for part in parts if isinstance(part, ToolCall)]
    if calls:
        message["tool_calls"] = [chat_tool_call(call) for call in calls]
    return message


def _user_messages(parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    """Tool messages must directly follow the assistant's calls, so they come first."""
    messages: list[dict[str, Any]] = []
    content: list[Text | Image] = []
    for result in (part for part in parts if isinstance(part, ToolResult)):
        texts = [part for part in result.content if isinstance(part, Text)]
        messages.append(
            {"role": "tool", "tool_call_id": result.call_id, "content": _content(texts) or ""}
        )
        content.extend(part for part in result.content if isinstance(part, Image))
    content.extend(part for part in parts if isinstance(part, Text | Image))
    if content:
        messages.append({"role": "user", "content": _content(content)})
    return messages


def _content(parts: list[Text] | list[Text | Image]) -> str | list[dict[str, Any]]:
    """A lone text as a plain string, which every compatible server accepts; else parts."""
    if len(parts) == 1 and isinstance(parts[0], Text):
        return parts[0].text
    return [_chat_part(part) for part in parts]


def _chat_part(part: Text | Image) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    return {"type": "image_url", "image_url": {"url": part.url}}


def _chat_tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    function["parameters"] = tool.parameters
    return {"type": "function", "function": function}


def _chat_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode is ToolChoiceMode.NAMED:
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode.value
