"""Session affinity: a session id pinned to the model chosen by its first routed decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Pin:
    model: str
    route: str | None


class AffinityStore(Protocol):
    """Async key → Pin store. Implementations never raise to the request path: a backend
    failure is counted and reads as a miss / a dropped write."""

    async def get(self, key: str) -> Pin | None: ...

    async def put(self, key: str, pin: Pin, *, replace: bool = False) -> None:
        """Pin `key` unless it is already pinned; the TTL runs from this first write.
        `replace` overwrites an existing pin (a re-pin after failover), with a fresh TTL."""
        ...

    async def close(self) -> None: ...
