"""Blocks: models that new requests skip for a while (a global Retry-After, repeated high
latency). In process memory, or in Redis when the session cache is Redis, so every replica
skips the same models.

A store never raises to the request path: a failing Redis reads as "nothing blocked".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from redis.asyncio import Redis

from plano_extproc.config.model import RoutingSettings, SessionCacheType
from plano_extproc.redis_budget import BudgetedRedis
from plano_extproc.telemetry.metrics import BLOCK_STORE_ERRORS

KEY_PREFIX = "plano:block:"
SLOW_PREFIX = "plano:slow:"


class BlockStore(Protocol):
    async def blocked(self, models: Sequence[str]) -> set[str]:
        """Those of `models` that are blocked now."""
        ...

    async def block(self, models: Iterable[str], seconds: float) -> None: ...

    async def count_slow(self, model: str, window_seconds: float) -> int:
        """Records one slow answer of `model`; returns how many fell within the window that
        the first of them opened."""
        ...

    async def close(self) -> None: ...


class MemoryBlockStore:
    """Keys are declared model names, so the maps are bounded by the config."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._slow: dict[str, tuple[int, float]] = {}

    async def blocked(self, models: Sequence[str]) -> set[str]:
        now = self._clock()
        return {m for m in models if self._until.get(m, 0.0) > now}

    async def block(self, models: Iterable[str], seconds: float) -> None:
        until = self._clock() + seconds
        for model in models:
            self._until[model] = max(self._until.get(model, 0.0), until)
            self._slow.pop(model, None)

    async def count_slow(self, model: str, window_seconds: float) -> int:
        now = self._clock()
        count, window_end = self._slow.get(model, (0, 0.0))
        if now >= window_end:
            count, window_end = 0, now + window_seconds
        self._slow[model] = (count + 1, window_end)
        return count + 1

    async def close(self) -> None:
        self._until.clear()
        self._slow.clear()


class RedisBlockStore:
    """`plano:block:<model>` keys that expire when the block ends; `plano:slow:<model>`
    counters that expire with their window."""

    def __init__(self, url: str, *, client: Redis | None = None) -> None:
        self._redis = BudgetedRedis(
            url, errors=BLOCK_STORE_ERRORS, what="redis block", client=client
        )

    async def blocked(self, models: Sequence[str]) -> set[str]:
        if not models:
            return set()
        client = self._redis.client
        values = await self._redis.call(
            "get", lambda: client.mget([KEY_PREFIX + m for m in models])
        )
        return {m for m, v in zip(models, values or (), strict=False) if v is not None}

    async def block(self, models: Iterable[str], seconds: float) -> None:
        milliseconds = max(int(seconds * 1000), 1)
        client = self._redis.client

        async def write() -> None:
            async with client.pipeline(transaction=False) as pipe:
                for model in models:
                    pipe.set(KEY_PREFIX + model, b"1", px=milliseconds)
                    pipe.delete(SLOW_PREFIX + model)
                await pipe.execute()

        await self._redis.call("block", write)

    async def count_slow(self, model: str, window_seconds: float) -> int:
        client = self._redis.client
        key = SLOW_PREFIX + model

        async def count() -> int:
            value = int(await client.incr(key))
            if value == 1:
                await client.pexpire(key, max(int(window_seconds * 1000), 1))
            return value

        return await self._redis.call("count_slow", count) or 0

    async def close(self) -> None:
        await self._redis.close()


def build_block_store(settings: RoutingSettings) -> BlockStore:
    """Shared through Redis exactly when the session cache is."""
    cache = settings.session_cache
    if cache.type is SessionCacheType.REDIS and cache.url:
        return RedisBlockStore(cache.url)
    return MemoryBlockStore()
