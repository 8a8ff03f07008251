"""In-process affinity store: LRU bounded by entry count, absolute TTL from the first write."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from plano_extproc.affinity.base import Pin


class MemoryAffinityStore:
    """Per-replica pins. Every operation is O(1) and never awaits, so it is atomic on the loop.

    Expired entries are dropped lazily, when touched or when they reach the LRU end; a full store
    evicts its least recently used entry, live or not.
    """

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Pin, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> Pin | None:
        return self._live_pin(key)

    async def put(self, key: str, pin: Pin, *, replace: bool = False) -> None:
        if not replace and self._live_pin(key) is not None:
            return
        self._entries.pop(key, None)
        self._entries[key] = (pin, self._clock() + self._ttl)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()

    def _live_pin(self, key: str) -> Pin | None:
        """The unexpired pin for `key`, marked most recently used; an expired one is dropped."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        pin, expires_at = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return pin
