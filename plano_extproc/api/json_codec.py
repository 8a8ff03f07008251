"""JSON in and out of the gateway: orjson on the hot path, with client-facing errors.

orjson reads up to 1024 levels of nesting but writes only 254, so deeper values are written by the
standard library instead; integers outside the 64-bit range are read by orjson as the nearest
float, as most JSON parsers (and the upstream providers) do.
"""

from __future__ import annotations

import json

import orjson

from plano_extproc.api import reasons
from plano_extproc.api.errors import InvalidRequest


def decode_json(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(_decode_problem(raw, exc), reason=reasons.MALFORMED_JSON) from None


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
