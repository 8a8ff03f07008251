"""W3C trace context: reuse the caller's trace id so decisions, logs and traces line up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_INVALID_TRACE_ID = "0" * 32


def new_trace_id() -> str:
    return os.urandom(16).hex()


def trace_id_from_traceparent(value: str | None) -> str | None:
    """The trace id of a valid `traceparent` header value, else None (version ff is invalid)."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or value.startswith("ff") or match.group(1) == _INVALID_TRACE_ID:
        return None
    return match.group(1)


def trace_id_for(headers: Mapping[str, str]) -> str:
    """`headers` is keyed by lowercase names."""
    return trace_id_from_traceparent(headers.get("traceparent")) or new_trace_id()
