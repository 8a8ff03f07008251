"""GCRA (generic cell rate algorithm) arithmetic for token buckets; no I/O, no clock.

A bucket allows `tokens` per `unit_seconds` with a burst of `tokens`, as Plano's `governor`
quotas do. Its whole state is one number, the TAT (theoretical arrival time, seconds): each
token moves it `interval = unit_seconds / tokens` later, and a charge is allowed while the
TAT it leads to is at most `unit_seconds` (the burst tolerance) ahead of now. A TAT in the
past is the same as a fresh bucket, so a missing bucket is read as `tat = now`.

The Redis store's Lua script does the same arithmetic; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

# Float rounding at the very edge of the window (epoch seconds have ~0.2 us resolution): a
# charge landing within this of the burst tolerance passes. Only a rate of more than a million
# tokens a second could get one extra token from it.
EDGE_SLACK_SECONDS = 1e-6


class Limit(Protocol):
    """At most `tokens` tokens per `unit_seconds`; satisfied by the config's rate-limit rules."""

    @property
    def tokens(self) -> int: ...

    @property
    def unit_seconds(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Quota:
    tokens: int
    unit_seconds: float

    def __post_init__(self) -> None:
        if self.tokens <= 0 or self.unit_seconds <= 0:
            raise ValueError("a quota needs positive tokens and unit_seconds")


class Take(NamedTuple):
    """The outcome of one charge: `retry_after` is None when allowed, and also when the cost is
    over the burst (`never`: it cannot pass however long the client waits)."""

    allowed: bool
    tat: float
    retry_after: float | None = None

    @property
    def never(self) -> bool:
        return not self.allowed and self.retry_after is None


def interval(limit: Limit) -> float:
    """Seconds one token takes to come back."""
    return limit.unit_seconds / limit.tokens


def take(tat: float, now: float, cost: int, limit: Limit) -> Take:
    """Charge `cost` tokens; a refused charge leaves the TAT as it was."""
    if cost <= 0:
        return Take(True, tat)
    if cost > limit.tokens:
        return Take(False, tat)
    new_tat = max(tat, now) + cost * interval(limit)
    earliest = new_tat - limit.unit_seconds
    if earliest <= now + EDGE_SLACK_SECONDS:
        return Take(True, new_tat)
    return Take(False, tat, earliest - now)


def adjust(tat: float, now: float, delta: int, limit: Limit) -> float:
    """The TAT after correcting a charge by `delta` tokens once the real usage is known: a
    negative delta gives tokens back (never more than a full bucket: the TAT stays >= now); a
    positive one charges more, past the burst if it must, so the next requests wait."""
    return max(max(tat, now) + delta * interval(limit), now)


def remaining(tat: float, now: float, limit: Limit) -> float:
    """Tokens a charge could take now (0 to `tokens`)."""
    ahead = max(tat - now, 0.0)
    tokens = (limit.unit_seconds - ahead) / interval(limit)
    return min(max(tokens, 0.0), float(limit.tokens))
