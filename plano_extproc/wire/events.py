"""The neutral stream: what every upstream stream is decoded into and every client stream
encoded from.

A well-formed stream is one Started, then content events, then exactly one terminal event
(Finished or Failed); `streams.StreamTranslator` enforces that order before encoders see it.
Tool calls are identified by `key`, the upstream's own index for them, so the deltas of
several calls may interleave.
"""

from __future__ import annotations

from dataclasses import dataclass

from plano_extproc.wire.ir import ApiError, ErrorKind, StopReason, Usage


@dataclass(frozen=True, slots=True)
class Started:
    id: str
    model: str
    created: int


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    key: int
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolArgumentsDelta:
    key: int
    fragment: str


@dataclass(frozen=True, slots=True)
class Finished:
    stop: StopReason
    usage: Usage
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    error: ApiError


StreamEvent = Started | TextDelta | ToolCallStarted | ToolArgumentsDelta | Finished | Failed
Terminal = Finished | Failed

# What a client is told when the upstream closes the stream before its terminal event.
ENDED_EARLY = Failed(
    ApiError(ErrorKind.SERVER, "the upstream stream ended before the answer was complete")
)
