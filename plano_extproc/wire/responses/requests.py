"""OpenAI Responses request bodies → the neutral model (a Responses client is translated when
routed to Anthropic, or to Chat Completions elsewhere).

- `instructions` are the first turn, an instruction turn, as are system or developer message
  items wherever they stand;
- message, function_call and function_call_output items become turns; reasoning items are
  dropped, like thinking blocks, and so are `reasoning`, `store`, `include`, `truncation`,
  `metadata` and `service_tier`;
- a translation refuses (400): `previous_response_id` (the gateway replaces it by the stored
  conversation when `state_storage` is configured, before translating) and `conversation`,
  whose state is stored at OpenAI, a JSON `text.format`, built-in tools, file inputs and the
  item types other than those above, which routing skips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plano_extproc.wire.content import PartTypes, read_content, refusal_part, text_part
from plano_extproc.wire.errors import TranslationProblems, untranslatable
from plano_extproc.wire.fields import (
    child,
    expect_object,
    invalid_value,
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
from plano_extproc.wire.ir import (
    Image,
    Request,
    Role,
    Text,
    ToolCall,
    ToolResult,
    Transcript,
    Turn,
    dialogue,
    instructions,
)
from plano_extproc.wire.openai_tools import read_tool_choice, read_tools, refuse_output_format

# Tool results arrive as function_call_output items, never as a message role.
_ROLES = {role.value: role for role in Role if role is not Role.TOOL}
_DROPPED_ITEMS = frozenset({"reasoning"})
_STATEFUL_FIELDS = {
    "previous_response_id": "stored conversation state cannot be used upstream without the "
    "gateway's state_storage",
    "conversation": "stored conversation state cannot be used upstream",
}


def _image_part(part: dict[str, Any], path: str) -> Image:
    url = optional_str(part, "image_url", path)
    if url is None:
        raise untranslatable(path, "only images given by `image_url` can be sent upstream")
    return Image(url)


_PARTS: PartTypes[Text | Image] = PartTypes(
    checked={"input_text": text_part, "output_text": text_part, "text": text_part},
    translated={"input_image": _image_part, "refusal": refusal_part},
)


def _same_object(obj: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """Responses function tools and choices are flat: their fields sit on the object itself."""
    return obj, path


def read_responses_transcript(body: dict[str, Any]) -> Transcript:
    problems = TranslationProblems()
    given = optional_str(body, "instructions", "")
    leading = () if given is None else (Turn(Role.SYSTEM, (Text(given),)),)
    turns = _input_turns(required(body, "input", ""), problems)
    return Transcript(leading + turns, problems.first)


def _input_turns(value: object, problems: TranslationProblems) -> tuple[Turn, ...]:
    if isinstance(value, str):
        return (Turn(Role.USER, (Text(value),)),)
    if not isinstance(value, list):
        raise wrong_type("input", "a string or a list of input items", value)
    if not value:
        raise invalid_value("input", "must contain at least one item")
    turns = (_item_turn(item, f"input[{index}]", problems) for index, item in enumerate(value))
    return tuple(turn for turn in turns if turn is not None)


def _item_turn(value: object, path: str, problems: TranslationProblems) -> Turn | None:
    item = expect_object(value, path, "an input item object")
    # A bare `{"role", "content"}` is the easy form of a message item.
    kind = optional_str(item, "type", path) or "message"
    reader = _ITEM_READERS.get(kind)
    if reader is not None:
        return reader(item, path, problems)
    if kind not in _DROPPED_ITEMS:
        problems.note(child(path, "type"), f'"{kind}" items have no upstream equivalent')
    return None


def _message_item(item: dict[str, Any], path: str, problems: TranslationProblems) -> Turn:
    role = required_choice(item, "role", path, _ROLES, "role")
    return Turn(role, read_content(item, "content", path, _PARTS, problems))


def _function_call_item(item: dict[str, Any], path: str, _: TranslationProblems) -> Turn:
    call = ToolCall(
        id=required_str(item, "call_id", path),
        name=required_str(item, "name", path),
        arguments=required_str(item, "arguments", path),
    )
    return Turn(Role.ASSISTANT, (call,))


def _function_call_output_item(
    item: dict[str, Any], path: str, problems: TranslationProblems
) -> Turn:
    call_id = required_str(item, "call_id", path)
    output = read_content(item, "output", path, _PARTS, problems)
    return Turn(Role.USER, (ToolResult(call_id, output),))


_ITEM_READERS: dict[str, Callable[[dict[str, Any], str, TranslationProblems], Turn]] = {
    "message": _message_item,
    "function_call": _function_call_item,
    "function_call_output": _function_call_output_item,
}


def neutral_responses_request(body: dict[str, Any], transcript: Transcript) -> Request:
    """The request as a translation writes it; InvalidRequest (400) for what it cannot."""
    _refuse_untranslatable(body)
    transcript.check_translatable()
    return Request(
        system=instructions(transcript.turns),
        turns=dialogue(transcript.turns),
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
    refuse_output_format(optional_object(text, "format", "text"), "text.format")
