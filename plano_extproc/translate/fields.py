"""Strict readers for the client request fields that routing never looked at.

They extend `plano_extproc.api.fields`: a wrong type raises InvalidRequest naming the field's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plano_extproc.api.fields import child, invalid_value, wrong_type


def optional_number(obj: Mapping[str, Any], key: str, parent: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(child(parent, key), "a number", value)
    return value


def optional_positive_int(obj: Mapping[str, Any], key: str, parent: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(child(parent, key), "a positive integer", value)
    if value < 1:
        raise invalid_value(child(parent, key), f"expected a positive integer, got {value}")
    return value


def optional_flag(obj: Mapping[str, Any], key: str, parent: str) -> bool | None:
    """A boolean that may be absent (None), unlike `api.fields.optional_bool`."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise wrong_type(child(parent, key), "a boolean", value)


def optional_list(obj: Mapping[str, Any], key: str, parent: str, expected: str) -> list[Any]:
    """The list at `key`; absent or null reads as empty."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong_type(child(parent, key), expected, value)
    return value


def optional_object(obj: Mapping[str, Any], key: str, parent: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise wrong_type(child(parent, key), "an object", value)


def string_list(value: object, path: str) -> tuple[str, ...]:
    """A string or a list of strings, as `stop` and `stop_sequences` accept."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise wrong_type(path, "a string or a list of strings", value)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise wrong_type(f"{path}[{index}]", "a string", item)
    return tuple(value)
