"""Anthropic Messages request bodies ⇄ the neutral model.

Reading (every Messages request, for routing; its translation when routed to an
OpenAI-compatible upstream):
- `max_tokens` is required, as Anthropic requires it;
- the system prompt is the first turn, an instruction turn; within a user turn, tool results
  stay where the client put them;
- thinking blocks (and the `thinking` setting) are dropped: the reasoning of one vendor's model
  cannot be replayed to another's; so is a tool result's `is_error`, which OpenAI tool
  messages cannot carry (the result's text still says what went wrong);
- server tools (web search, code execution, ...) and blocks only they produce are refused (400)
  by a translation, as are documents; `top_k`, `service_tier` and cache controls are dropped.

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
from typing import Any, NoReturn

from plano_extproc.wire.content import PartTypes, read_content, read_parts, text_part
from plano_extproc.wire.errors import TranslationProblems, untranslatable
from plano_extproc.wire.fields import (
    child,
    expect_object,
    invalid_value,
    optional_bool,
    optional_flag,
    optional_list,
    optional_number,
    optional_object,
    optional_str,
    required,
    required_choice,
    required_nonempty_list,
    required_positive_int,
    required_str,
    string_list,
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
)
from plano_extproc.wire.json_codec import encode_json
from plano_extproc.wire.messages.common import (
    alternating_turns,
    call_input,
    image_source,
    image_url,
    sendable,
)

DEFAULT_MAX_TOKENS = 4096
MAX_TEMPERATURE = 1.0
_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT}
_THINKING = frozenset({"thinking", "redacted_thinking"})
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


def _tool_use_block(block: dict[str, Any], path: str, _: TranslationProblems) -> ToolCall:
    arguments = expect_object(required(block, "input", path), child(path, "input"))
    return ToolCall(
        id=required_str(block, "id", path),
        name=required_str(block, "name", path),
        arguments=encode_json(arguments).decode(),
    )


def _tool_result_block(
    block: dict[str, Any], path: str, problems: TranslationProblems
) -> ToolResult:
    call_id = required_str(block, "tool_use_id", path)
    content = read_content(block, "content", path, _MEDIA, problems, optional=True)
    return ToolResult(call_id, content)


def _only_in(
    role: Role, kind: str
) -> Callable[[dict[str, Any], str, TranslationProblems], NoReturn]:
    def refuse(_: dict[str, Any], path: str, __: TranslationProblems) -> NoReturn:
        raise invalid_value(path, f"{kind} blocks are only allowed in {role} messages")

    return refuse


_MEDIA: PartTypes[Text | Image] = PartTypes(
    checked={"text": text_part}, translated={"image": _image_block}
)
_SYSTEM: PartTypes[Text] = PartTypes(checked={"text": text_part})
_BLOCKS: dict[Role, PartTypes[Part]] = {
    Role.USER: PartTypes(
        checked={
            "text": text_part,
            "tool_result": _tool_result_block,
            "tool_use": _only_in(Role.ASSISTANT, "tool_use"),
        },
        translated={"image": _image_block},
        dropped=_THINKING,
        unknown='"{kind}" blocks in user turns have no upstream equivalent',
    ),
    Role.ASSISTANT: PartTypes(
        checked={
            "text": text_part,
            "tool_use": _tool_use_block,
            "tool_result": _only_in(Role.USER, "tool_result"),
        },
        dropped=_THINKING,
        unknown='"{kind}" blocks in assistant turns have no upstream equivalent',
    ),
}


def read_messages_transcript(body: dict[str, Any]) -> Transcript:
    required_positive_int(body, "max_tokens", "")
    items = required_nonempty_list(body, "messages", "", "a list of messages", "message")
    problems = TranslationProblems()
    system = _system(body, problems)
    turns = (_turn(item, f"messages[{index}]", problems) for index, item in enumerate(items))
    return Transcript((*system, *turns), problems.first)


def _system(body: dict[str, Any], problems: TranslationProblems) -> tuple[Turn, ...]:
    system = body.get("system")
    if system is None:
        return ()
    return (Turn(Role.SYSTEM, read_parts(system, "system", _SYSTEM, problems)),)


def _turn(value: object, path: str, problems: TranslationProblems) -> Turn:
    message = expect_object(value, path, "a message object")
    role = required_choice(message, "role", path, _ROLES, "role")
    return Turn(role, read_content(message, "content", path, _BLOCKS[role], problems))


def neutral_messages_request(body: dict[str, Any], transcript: Transcript) -> Request:
    """The request as a translation writes it; InvalidRequest (400) for what it cannot."""
    metadata = optional_object(body, "metadata", "") or {}
    choice, parallel = _tool_choice(body)
    transcript.check_translatable()
    return Request(
        system=_instructions(transcript.turns),
        turns=dialogue(transcript.turns),
        max_tokens=body["max_tokens"],  # checked when the request was read
        temperature=optional_number(body, "temperature", ""),
        top_p=optional_number(body, "top_p", ""),
        stop=string_list(optional_list(body, "stop_sequences", "", "a list"), "stop_sequences"),
        stream=optional_bool(body, "stream", ""),
        tools=_tools(body),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        user=optional_str(metadata, "user_id", "metadata"),
    )


def _instructions(turns: tuple[Turn, ...]) -> tuple[str, ...]:
    """The system prompt's text blocks, each one instruction."""
    return tuple(
        part.text
        for turn in turns
        if turn.role is Role.SYSTEM
        for part in turn.parts
        if isinstance(part, Text)
    )


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
        "messages": alternating_turns(request.turns, _block, _is_tool_result),
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


def _block(part: Part) -> dict[str, Any]:
    if isinstance(part, Text | Image):
        return _media_block(part)
    if isinstance(part, ToolCall):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": call_input(part)}
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


def _is_tool_result(block: dict[str, Any]) -> bool:
    return block["type"] == "tool_result"
