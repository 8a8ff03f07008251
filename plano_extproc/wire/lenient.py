"""Lenient readers for upstream JSON: a value of the wrong type reads as empty.

Upstream bodies are not ours to validate; a field a provider leaves out or shapes oddly must
degrade the translation, never crash it.
"""

from __future__ import annotations

from typing import Any

import orjson

from plano_extproc.wire.errors import InvalidRequest, TranslationError
from plano_extproc.wire.json_codec import encode_json


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def as_count(value: object) -> int:
    """A token count: a non-negative integer, else 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


def json_object(raw: str | bytes, what: str) -> dict[str, Any]:
    """Decode `raw` as a JSON object; `what` names it in the TranslationError otherwise."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TranslationError(f"{what} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise TranslationError(f"{what} is not a JSON object")
    return value


def json_bytes(value: object) -> bytes:
    """Compact JSON of a value read from an upstream body."""
    try:
        return encode_json(value)
    except InvalidRequest as error:
        raise TranslationError(f"an upstream value cannot be re-encoded: {error}") from None


def json_text(value: object) -> str:
    return json_bytes(value).decode()
