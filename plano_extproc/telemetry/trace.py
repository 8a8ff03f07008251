"""W3C trace context: reuse the caller's trace id so decisions, logs and traces line up."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16
_SAMPLED = 0x01


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A valid `traceparent`: the trace, the caller's span in it, and its sampled flag."""

    trace_id: str
    span_id: str
    sampled: bool


def new_trace_id() -> str:
    return os.urandom(16).hex()


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The trace context of a valid `traceparent` header value, else None (version ff and
    all-zero ids are invalid)."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == _INVALID_TRACE_ID or span_id == _INVALID_SPAN_ID:
        return None
    return TraceParent(trace_id, span_id, bool(int(flags, 16) & _SAMPLED))


def request_trace_parent(headers: Mapping[str, str]) -> TraceParent | None:
    """`headers` is keyed by lowercase names."""
    return parse_traceparent(headers.get("traceparent"))


def metadata_trace_parent(metadata: Iterable[tuple[str, str | bytes]] | None) -> TraceParent | None:
    """The `traceparent` of a gRPC call's metadata: Envoy sends its own span's there when it
    traces its calls to the ext_proc."""
    for key, value in metadata or ():
        if key == "traceparent" and isinstance(value, str):
            return parse_traceparent(value)
    return None
