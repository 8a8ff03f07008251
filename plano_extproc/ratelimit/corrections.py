"""Charges corrected once answers report their usage, on their way to the bucket store.

Corrections of the same buckets are summed while a flush is in flight, so that under load a
hot bucket's many corrections become one store call (a Redis round trip each, otherwise); at
rest each goes at once. Nothing here is on an answer's path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from plano_extproc.ratelimit.store import Bucket

# Sets of buckets waiting at most; past that a correction waits for the store itself.
MAX_PENDING = 1024

Adjust = Callable[[tuple[Bucket, ...], int], Awaitable[None]]


class Corrections:
    def __init__(self, adjust: Adjust, max_pending: int = MAX_PENDING) -> None:
        self._adjust = adjust
        self._max = max_pending
        self._pending: dict[tuple[Bucket, ...], int] = {}
        self._flusher: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    async def add(self, buckets: tuple[Bucket, ...], delta: int) -> None:
        if not delta or not buckets:
            return
        if buckets in self._pending:
            self._pending[buckets] += delta
        elif len(self._pending) >= self._max:
            await self._adjust(buckets, delta)
            return
        else:
            self._pending[buckets] = delta
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())

    @property
    def flushing(self) -> asyncio.Task[None] | None:
        """The flush in progress: done once the corrections pending have reached the store."""
        return self._flusher

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                for buckets, delta in batch.items():
                    if delta:
                        await self._adjust(buckets, delta)
        finally:
            self._flusher = None
