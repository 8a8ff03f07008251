"""OpenAI Chat Completions request bodies ⇄ the neutral model.

Reading (every chat request, for routing; its translation when routed to Anthropic):
- each message is a turn in the client's order; system and developer messages are instructions,
  wherever they stood, tool messages a user turn's tool result;
- the deprecated `function` role (a tool result without a call id) and custom tool calls are read
  for routing, and tool calls of types unknown to us skipped, but a translation refuses them, as
  it refuses `n` above 1, a JSON `response_format` and the deprecated `functions` (400):
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

from typing import Any

from plano_extproc.wire.chat.common import chat_tool_call
from plano_extproc.wire.content import PartTypes, read_content, refusal_part, text_part
from plano_extproc.wire.errors import TranslationProblems, untranslatable
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
    required_nonempty_list,
    required_str,
    string_list,
    wrong_type,
)
from plano_extproc.wire.ir import (
    Image,
    Part,
    Request,
    Role,
    Text,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceMode,
    ToolResult,
    Transcript,
    Turn,
    dialogue,
    instructions,
)
from plano_extproc.wire.openai_tools import read_tool_choice, read_tools, refuse_output_format

_SYSTEM_SEPARATOR = "\n\n"
# The deprecated function-result role is a tool result without a call id.
_ROLES = {**{role.value: role for role in Role}, "function": Role.TOOL}
# Where each tool call type keeps its arguments: `{"type": kind, kind: {"name", key}}`.
_TOOL_CALL_ARGUMENTS = {"function": "arguments", "custom": "input"}


def _image_part(part: dict[str, Any], path: str) -> Image:
    image = required(part, "image_url", path)
    if isinstance(image, str):
        return Image(image)
    image_path = child(path, "image_url")
    return Image(required_str(expect_object(image, image_path), "url", image_path))


_TEXT_PARTS: PartTypes[Text] = PartTypes(checked={"text": text_part})
_USER_PARTS: PartTypes[Text | Image] = PartTypes(
    checked={"text": text_part}, translated={"image_url": _image_part}
)
_ASSISTANT_PARTS: PartTypes[Text] = PartTypes(
    checked={"text": text_part}, translated={"refusal": refusal_part}
)


def _function(obj: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    function_path = child(path, "function")
    return expect_object(required(obj, "function", path), function_path), function_path


def read_chat_transcript(body: dict[str, Any]) -> Transcript:
    problems = TranslationProblems()
    items = required_nonempty_list(body, "messages", "", "a list of messages", "message")
    turns = tuple(_turn(item, f"messages[{index}]", problems) for index, item in enumerate(items))
    return Transcript(turns, problems.first)


def _turn(value: object, path: str, problems: TranslationProblems) -> Turn:
    message = expect_object(value, path, "a message object")
    role = required_choice(message, "role", path, _ROLES, "role")
    if role is Role.ASSISTANT:
        # An assistant turn may be only tool calls (or a refusal), so its content may be absent.
        content = read_content(message, "content", path, _ASSISTANT_PARTS, problems, optional=True)
        return Turn(role, content + _tool_calls(message, path, problems))
    if role is Role.USER:
        return Turn(role, read_content(message, "content", path, _USER_PARTS, problems))
    if role is Role.TOOL:
        return _tool_turn(message, path, problems)
    return Turn(role, read_content(message, "content", path, _TEXT_PARTS, problems))


def _tool_turn(message: dict[str, Any], path: str, problems: TranslationProblems) -> Turn:
    """A tool message is a user turn's tool result. A `function` message answers no call id,
    so it stays a TOOL turn, which no other API can carry."""
    if message["role"] == "function":
        problems.note(child(path, "role"), 'the "function" role has no upstream equivalent')
        return Turn(Role.TOOL, read_content(message, "content", path, _TEXT_PARTS, problems))
    content = read_content(message, "content", path, _TEXT_PARTS, problems)
    return Turn(Role.USER, (ToolResult(required_str(message, "tool_call_id", path), content),))


def _tool_calls(
    message: dict[str, Any], path: str, problems: TranslationProblems
) -> tuple[ToolCall, ...]:
    value = message.get("tool_calls")
    if value is None:
        return ()
    calls_path = child(path, "tool_calls")
    if not isinstance(value, list):
        raise wrong_type(calls_path, "a list of tool calls", value)
    calls = (
        _tool_call(item, f"{calls_path}[{index}]", problems) for index, item in enumerate(value)
    )
    return tuple(call for call in calls if call is not None)


def _tool_call(value: object, path: str, problems: TranslationProblems) -> ToolCall | None:
    """A function or custom tool call; calls of types unknown to us are skipped."""
    call = expect_object(value, path, "a tool call object")
    kind = optional_str(call, "type", path) or "function"
    if kind != "function":
        problems.note(child(path, "type"), f'"{kind}" tool calls have no upstream equivalent')
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


def neutral_chat_request(body: dict[str, Any], transcript: Transcript) -> Request:
    """The request as a translation writes it; InvalidRequest (400) for what it cannot."""
    _refuse_untranslatable(body)
    transcript.check_translatable()
    return Request(
        system=instructions(transcript.turns),
        turns=dialogue(transcript.turns),
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
    refuse_output_format(optional_object(body, "response_format", ""), "response_format")
    if body.get("functions") is not None:
        raise untranslatable("functions", "deprecated; send `tools` instead")


def _max_tokens(body: dict[str, Any]) -> int | None:
    newer = optional_positive_int(body, "max_completion_tokens", "")
    return newer if newer is not None else optional_positive_int(body, "max_tokens", "")


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
