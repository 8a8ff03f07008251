"""JSON in and out of the gateway: orjson on the hot path, with client-facing errors.

orjson reads up to 1024 levels of nesting but writes only 254, so deeper values are written by the
standard library instead; integers outside the 64-bit range are read by orjson as the nearest
float, as most JSON parsers (and the upstream providers) do.

A body with a repeated key (at any depth) is refused: the gateway would read one value and a
provider might read the other (`{"model": "cheap", ..., "model": "costly"}`). orjson keeps the
last silently, so the keys in the text are counted against the keys it kept.
"""

from __future__ import annotations

import json
import re

import orjson

from plano_extproc.wire import reasons
from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.fields import excerpt

# Every JSON string, in order, with the colon that makes it a key: matching strings whole means
# a quote inside one is never taken for the start of another.
_STRING_OR_KEY = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"(\s*:)?')
_ESCAPED_COLON = b"\\u003a"
_ESCAPED_COLON_UPPER = b"\\u003A"


def decode_json(raw: bytes) -> object:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(_decode_problem(raw, exc), reason=reasons.MALFORMED_JSON) from None
    if _repeats_a_key(raw, value):
        raise InvalidRequest(_duplicate_problem(raw), reason=reasons.DUPLICATE_KEY)
    return value


def _repeats_a_key(raw: bytes, value: object) -> bool:
    """Whether an object in `raw` repeats a key, which orjson dropped from `value`.

    In JSON text a colon follows each key and is otherwise found only in strings; `value`
    written out again has a colon per key it kept and those of the strings it kept. The two
    counts agree exactly when nothing was dropped, unless a colon was escaped in a string
    (`\\u003a`): the keys in the text are then matched one by one, which takes longer.
    """
    if _ESCAPED_COLON not in raw and _ESCAPED_COLON_UPPER not in raw:
        try:
            return raw.count(b":") != orjson.dumps(value).count(b":")
        except orjson.JSONEncodeError:  # nested deeper than orjson writes
            pass
    return _keys_in_text(raw) != _keys_kept(value)


def _keys_in_text(raw: bytes) -> int:
    return sum(map(bool, _STRING_OR_KEY.findall(raw)))


def _keys_kept(value: object) -> int:
    count, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            count += len(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def _duplicate_problem(raw: bytes) -> str:
    """Names the first repeated key (the slow parse runs only for a body being refused)."""

    def refuse_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for key, item in pairs:
            if key in seen:
                raise _Repeated(key)
            seen[key] = item
        return seen

    try:
        json.loads(raw, object_pairs_hook=refuse_repeats)
    except _Repeated as repeated:
        return f"request body: key '{excerpt(repeated.key)}' appears more than once in an object"
    except (ValueError, RecursionError):
        pass
    return "request body: a key appears more than once in an object"


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _decode_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    if not raw or raw.isspace():
        return "request body is empty; expected a JSON object"
    try:
        raw.decode()
    except UnicodeDecodeError as bad:
        return f"request body is not valid UTF-8 (byte {bad.start})"
    return f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"


def encode_json(value: object) -> bytes:
    """Compact JSON, non-ASCII kept as UTF-8."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _encode_deep(value)


def _encode_deep(value: object) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise InvalidRequest(
            "request body is nested too deeply to forward", reason=reasons.BODY_TOO_DEEP
        ) from None
    return text.encode()
