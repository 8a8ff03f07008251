"""Message content, read once for routing and translation alike: a string, or a list of typed
parts (OpenAI) or blocks (Anthropic).

Each place content appears says how it reads each part type (`PartTypes`). Some parts are
checked on every request, as routing reads them (text, tool calls and results); others only a
translation needs (images, refusals), and what is wrong with them, like a part type no other API
has, is only noted (`TranslationProblems`) for a translation to refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from plano_extproc.wire.errors import TranslationProblems
from plano_extproc.wire.fields import child, expect_object, required, required_str, wrong_type
from plano_extproc.wire.ir import Part, Refusal, Text

_CONTENT_EXPECTED = "a string or a list of content parts"

P = TypeVar("P", bound=Part)


@dataclass(frozen=True, slots=True)
class PartTypes(Generic[P]):
    """How one kind of content reads its parts, by `type`, into parts of type P. A type listed
    nowhere carries nothing routing reads, and a translation refuses it (`unknown`)."""

    # Parts every request is checked for; their readers note what a translation would refuse.
    checked: Mapping[str, Callable[[dict[str, Any], str, TranslationProblems], P]]
    # Parts only a translation needs: what their readers raise is noted, not raised.
    translated: Mapping[str, Callable[[dict[str, Any], str], P]] = field(default_factory=dict)
    dropped: frozenset[str] = frozenset()  # carried by no translation, and no loss
    unknown: str = 'content of type "{kind}" has no upstream equivalent'


def _content_part(value: object, path: str) -> tuple[dict[str, Any], str]:
    """Check one part is an object with a string `type`; return it with that type."""
    part = expect_object(value, path, "a content part object")
    return part, required_str(part, "type", path)


def read_content(
    obj: Mapping[str, Any],
    key: str,
    parent: str,
    types: PartTypes[P],
    problems: TranslationProblems,
    *,
    optional: bool = False,
) -> tuple[P | Text, ...]:
    """The parts of the content at `key`; when `optional`, absent or null content has none."""
    if optional:
        value = obj.get(key)
        if value is None:
            return ()
    else:
        value = required(obj, key, parent)
    if isinstance(value, str):  # the common case needs no path
        return (Text(value),) if value else ()
    return read_parts(value, child(parent, key), types, problems)


def read_parts(
    content: object, path: str, types: PartTypes[P], problems: TranslationProblems
) -> tuple[P | Text, ...]:
    """A string (one text part, none when empty) or a list of typed parts."""
    if isinstance(content, str):
        return (Text(content),) if content else ()
    if not isinstance(content, list):
        raise wrong_type(path, _CONTENT_EXPECTED, content)
    parts: list[P | Text] = []
    checked, translated = types.checked, types.translated
    for index, value in enumerate(content):
        part_path = f"{path}[{index}]"
        part, kind = _content_part(value, part_path)
        reader = checked.get(kind)
        if reader is not None:
            parts.append(reader(part, part_path, problems))
            continue
        translate = translated.get(kind)
        if translate is not None:
            read = problems.read(translate, part, part_path)
            if read is not None:
                parts.append(read)
        elif kind not in types.dropped:
            problems.note(part_path, types.unknown.format(kind=kind))
    return tuple(parts)


def text_part(part: dict[str, Any], path: str, _: TranslationProblems) -> Text:
    return Text(required_str(part, "text", path))


def refusal_part(part: dict[str, Any], path: str) -> Refusal:
    return Refusal(required_str(part, "refusal", path))
