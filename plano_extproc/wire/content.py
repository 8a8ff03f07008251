"""Reduce message content (a string or a list of typed parts/blocks) to its text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plano_extproc.wire.fields import child, expect_object, required, required_str, wrong_type

CONTENT_EXPECTED = "a string or a list of content parts"


def content_part(value: object, path: str) -> tuple[dict[str, Any], str]:
    """Check one part is an object with a string `type`; return it with that type."""
    part = expect_object(value, path, "a content part object")
    return part, required_str(part, "type", path)


def _parts_text(parts: list[Any], path: str, text_types: frozenset[str]) -> str:
    """Join the `text` of the parts whose type is in `text_types`; other parts carry no text."""
    texts = []
    for index, value in enumerate(parts):
        part_path = f"{path}[{index}]"
        part, kind = content_part(value, part_path)
        if kind in text_types:
            texts.append(required_str(part, "text", part_path))
    return "\n".join(texts)


def content_text(content: object, path: str, text_types: frozenset[str]) -> str:
    """The text of a content value that is either a plain string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return _parts_text(content, path, text_types)
    raise wrong_type(path, CONTENT_EXPECTED, content)


def field_text(
    obj: Mapping[str, Any],
    key: str,
    parent: str,
    text_types: frozenset[str],
    *,
    optional: bool = False,
) -> str:
    """The text of the content at `key`; when `optional`, absent or null content is ""."""
    if optional:
        value = obj.get(key)
        if value is None:
            return ""
    else:
        value = required(obj, key, parent)
    if isinstance(value, str):  # the common case needs no path
        return value
    return content_text(value, child(parent, key), text_types)
