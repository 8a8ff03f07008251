"""Path-aware access to the fields of a decoded JSON body.

Every check raises InvalidRequest whose message starts with the field's path, written the way a
client would address it: ``messages[2].content``, ``routing_preferences[0].models[1]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Any, TypeVar

from plano_extproc.wire import reasons
from plano_extproc.wire.errors import InvalidRequest

T = TypeVar("T")
S = TypeVar("S", bound=Sized)

# How much of a client's string an error message may quote back.
_EXCERPT_CHARS = 64

_JSON_TYPE_NAMES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, as clients know it."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def excerpt(text: str) -> str:
    """`text` cut short for quoting in an error message; "…" marks a cut."""
    return text if len(text) <= _EXCERPT_CHARS else f"{text[:_EXCERPT_CHARS]}…"


def child(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def wrong_type(path: str, expected: str, value: object) -> InvalidRequest:
    return InvalidRequest(
        f"{path}: expected {expected}, got {json_type(value)}", reason=reasons.WRONG_TYPE
    )


def invalid_value(path: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"{path}: {problem}", reason=reasons.INVALID_VALUE)


def at_most_items(items: S, limit: int, path: str, what: str) -> S:
    """`items` unchanged, unless there are more than `limit` (`what` names them, plural)."""
    if len(items) > limit:
        raise invalid_value(path, f"at most {limit} {what} are allowed (got {len(items)})")
    return items


def at_most_chars(text: str, limit: int, path: str) -> str:
    """`text` unchanged, unless it is longer than `limit` characters."""
    if len(text) > limit:
        raise invalid_value(path, f"at most {limit} characters (got {len(text)})")
    return text


def required(obj: Mapping[str, Any], key: str, parent: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise _missing(key, parent) from None


def _missing(key: str, parent: str) -> InvalidRequest:
    return InvalidRequest(
        f"{child(parent, key)}: required field is missing", reason=reasons.MISSING_FIELD
    )


def expect_str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise wrong_type(path, "a string", value)
    return value


def expect_object(value: object, path: str, expected: str = "an object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong_type(path, expected, value)
    return value


def required_nonempty_list(
    obj: Mapping[str, Any], key: str, parent: str, expected: str, item: str
) -> list[Any]:
    """A list with at least one element; `item` names an element in the emptiness message."""
    value = required(obj, key, parent)
    path = child(parent, key)
    if not isinstance(value, list):
        raise wrong_type(path, expected, value)
    if not value:
        raise invalid_value(path, f"must contain at least one {item}")
    return value


def required_str(obj: Mapping[str, Any], key: str, parent: str) -> str:
    # The hot path of every reader: `required` is inlined.
    try:
        value = obj[key]
    except KeyError:
        raise _missing(key, parent) from None
    if isinstance(value, str):
        return value
    raise wrong_type(child(parent, key), "a string", value)


def optional_str(obj: Mapping[str, Any], key: str, parent: str) -> str | None:
    """The string at `key`; an absent key and an explicit null both mean None."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise wrong_type(child(parent, key), "a string", value)


def optional_bool(obj: Mapping[str, Any], key: str, parent: str) -> bool:
    """The boolean at `key`; an absent key and an explicit null both mean False."""
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise wrong_type(child(parent, key), "a boolean", value)
    return value


def required_choice(
    obj: Mapping[str, Any], key: str, parent: str, choices: Mapping[str, T], what: str
) -> T:
    """Map the string at `key` onto one of `choices`, naming the allowed values otherwise."""
    value = required_str(obj, key, parent)
    try:
        return choices[value]
    except KeyError:
        allowed = ", ".join(choices)
        problem = f'unknown {what} "{excerpt(value)}"; expected one of {allowed}'
        raise invalid_value(child(parent, key), problem) from None


def optional_number(obj: Mapping[str, Any], key: str, parent: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(child(parent, key), "a number", value)
    return value


def required_positive_int(obj: Mapping[str, Any], key: str, parent: str) -> int:
    return _positive_int(required(obj, key, parent), child(parent, key))


def optional_positive_int(obj: Mapping[str, Any], key: str, parent: str) -> int | None:
    value = obj.get(key)
    return None if value is None else _positive_int(value, child(parent, key))


def _positive_int(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(path, "a positive integer", value)
    if value < 1:
        raise invalid_value(path, f"expected a positive integer, got {value}")
    return value


def optional_flag(obj: Mapping[str, Any], key: str, parent: str) -> bool | None:
    """A boolean that may be absent (None), unlike `optional_bool`."""
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
