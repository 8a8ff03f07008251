"""In-process conversation store: LRU with per-entry expiry, bounded in entries and bytes.

Per process: with several workers or replicas, use the Redis store, since the request that
names a previous response may reach another process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import orjson

from plano_extproc.conversations.base import Items

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 64 << 20


class MemoryConversationStore:
    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        # key → (expiry, serialized items); serialized, so that stored state cannot be changed
        # through a reference and its size is known.
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> Items | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expiry, raw = entry
        if expiry <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        items: Items = orjson.loads(raw)
        return items

    async def put(self, key: str, items: Items, ttl_seconds: int) -> None:
        raw = orjson.dumps(items)
        self._drop(key)
        if len(raw) > self._max_bytes:
            return
        self._entries[key] = (self._clock() + ttl_seconds, raw)
        self._bytes += len(raw)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[1])
