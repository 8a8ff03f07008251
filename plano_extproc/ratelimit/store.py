"""Where the rate-limit buckets live: in process memory, or in Redis so every replica shares them.

A bucket is a GCRA TAT (see gcra.py) under a key the caller builds. Every operation covers all
the buckets one request matched (a per-user and a per-team limit, say): a charge passes all of
them or touches none. Keys should be distinct within a call; a key given twice is checked twice
against the same stored state and charged once.

Failure policy (Redis): the limits must never take the gateway down with them, so an unreachable
or slow Redis fails open. A `take` is then allowed with `degraded` set, an `adjust` is dropped,
`available` reads every bucket as full; each is counted in
``plano_ratelimit_store_errors_total{backend="redis"}`` and warned about at most once a minute.
The time budget, cool-down and reconnection are `redis_budget.BudgetedRedis`'s.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from plano_extproc.config.model import Config, SessionCacheType, StateStorageType
from plano_extproc.ratelimit import gcra, redis_scripts
from plano_extproc.ratelimit.gcra import EDGE_SLACK_SECONDS, Limit
from plano_extproc.redis_budget import (
    DEFAULT_COOLDOWN_SECONDS,
    DEFAULT_OP_TIMEOUT_SECONDS,
    BudgetedRedis,
)
from plano_extproc.telemetry.metrics import RATELIMIT_STORE_ERRORS

Bucket = tuple[str, Limit]

DEFAULT_MAX_BUCKETS = 100_000
KEY_PREFIX = "plano:ratelimit:"
# Added to each key's time to live (its TAT - now), so a bucket outlives its TAT a little.
EXPIRY_MARGIN_MS = 1_000
OUTAGE_WARNING_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """A charge's outcome. Refused: `refused_by` is the index in `buckets` of the bucket that
    refused, and `retry_after` the seconds until every refusing bucket would allow it, or None
    with `never` when the cost is over a bucket's burst. `degraded`: allowed unchecked because
    the store was unreachable."""

    allowed: bool
    refused_by: int | None = None
    retry_after: float | None = None
    never: bool = False
    degraded: bool = False


ALLOWED = Verdict(True)
DEGRADED = Verdict(True, degraded=True)


class BucketStore(Protocol):
    async def take(
        self, buckets: Sequence[Bucket], cost: int, now: float | None = None
    ) -> Verdict: ...

    async def adjust(
        self, buckets: Sequence[Bucket], delta: int, now: float | None = None
    ) -> None: ...

    async def available(
        self, buckets: Sequence[Bucket], now: float | None = None
    ) -> list[float]: ...

    async def close(self) -> None: ...


def verdict_of(takes: Sequence[gcra.Take]) -> Verdict:
    """The combined verdict: the first bucket over its burst, else the one refusing longest."""
    refused: int | None = None
    wait = -1.0
    for index, outcome in enumerate(takes):
        if outcome.never:
            return Verdict(False, index, None, never=True)
        if not outcome.allowed and outcome.retry_after is not None and outcome.retry_after > wait:
            refused, wait = index, outcome.retry_after
    return ALLOWED if refused is None else Verdict(False, refused, wait)


class MemoryBucketStore:
    """TATs in a dict capped at `max_buckets`, least recently charged evicted first (an evicted
    bucket starts again full). `clock` is monotonic: only this process reads these TATs."""

    def __init__(
        self,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_buckets <= 0:
            raise ValueError("max_buckets must be positive")
        self._max = max_buckets
        self._clock = clock
        self._tats: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    async def take(self, buckets: Sequence[Bucket], cost: int, now: float | None = None) -> Verdict:
        at = self._clock() if now is None else now
        takes = [gcra.take(self._tat(key, at), at, cost, limit) for key, limit in buckets]
        verdict = verdict_of(takes)
        if verdict.allowed and cost > 0:
            for (key, _), outcome in zip(buckets, takes, strict=True):
                self._store(key, outcome.tat, at)
        return verdict

    async def adjust(self, buckets: Sequence[Bucket], delta: int, now: float | None = None) -> None:
        at = self._clock() if now is None else now
        for key, limit in buckets:
            self._store(key, gcra.adjust(self._tat(key, at), at, delta, limit), at)

    async def available(self, buckets: Sequence[Bucket], now: float | None = None) -> list[float]:
        at = self._clock() if now is None else now
        return [gcra.remaining(self._tat(key, at), at, limit) for key, limit in buckets]

    async def close(self) -> None:
        self._tats.clear()

    def _tat(self, key: str, now: float) -> float:
        return self._tats.get(key, now)

    def _store(self, key: str, tat: float, now: float) -> None:
        if tat <= now:
            self._tats.pop(key, None)
            return
        self._tats[key] = tat
        self._tats.move_to_end(key)
        if len(self._tats) > self._max:
            self._tats.popitem(last=False)


class RedisBucketStore:
    """`plano:ratelimit:<key>` strings holding TATs on Redis's clock, each expiring shortly after
    its TAT. One Lua script per operation. `client` replaces the one built from `url` (tests);
    the store closes it either way."""

    def __init__(
        self,
        url: str,
        *,
        op_timeout: float = DEFAULT_OP_TIMEOUT_SECONDS,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        client: Redis | None = None,
    ) -> None:
        self._redis = BudgetedRedis(
            url,
            errors=RATELIMIT_STORE_ERRORS,
            what="redis rate-limit",
            op_timeout=op_timeout,
            cooldown_seconds=cooldown_seconds,
            clock=clock,
            client=client,
            warning_interval=OUTAGE_WARNING_INTERVAL_SECONDS,
        )
        redis = self._redis.client
        self._take = redis.register_script(redis_scripts.TAKE)
        self._adjust = redis.register_script(redis_scripts.ADJUST)
        self._available = redis.register_script(redis_scripts.AVAILABLE)

    async def take(self, buckets: Sequence[Bucket], cost: int, now: float | None = None) -> Verdict:
        if cost <= 0 or not buckets:
            return ALLOWED
        args = [_time_arg(now), cost, EDGE_SLACK_SECONDS, EXPIRY_MARGIN_MS, *_limit_args(buckets)]

        async def run() -> Verdict:
            return _parse_take(await self._take(keys=_keys(buckets), args=args))

        verdict = await self._redis.call("take", run)
        return DEGRADED if verdict is None else verdict

    async def adjust(self, buckets: Sequence[Bucket], delta: int, now: float | None = None) -> None:
        if delta == 0 or not buckets:
            return
        args = [_time_arg(now), delta, EXPIRY_MARGIN_MS, *_limit_args(buckets)]
        await self._redis.call("adjust", lambda: self._adjust(keys=_keys(buckets), args=args))

    async def available(self, buckets: Sequence[Bucket], now: float | None = None) -> list[float]:
        if not buckets:
            return []
        args = [_time_arg(now), *_limit_args(buckets)]

        async def run() -> list[float]:
            reply = await self._available(keys=_keys(buckets), args=args)
            values = [_finite(value) for value in reply]
            if len(values) != len(buckets):
                raise ValueError(f"{len(values)} values for {len(buckets)} buckets")
            return values

        values = await self._redis.call("available", run)
        return [float(limit.tokens) for _, limit in buckets] if values is None else values

    async def close(self) -> None:
        await self._redis.close()


def _keys(buckets: Sequence[Bucket]) -> list[str]:
    return [KEY_PREFIX + key for key, _ in buckets]


def _time_arg(now: float | None) -> str:
    return "" if now is None else repr(float(now))


def _limit_args(buckets: Sequence[Bucket]) -> list[int | str]:
    args: list[int | str] = []
    for _, limit in buckets:
        args += [int(limit.tokens), repr(float(limit.unit_seconds))]
    return args


def _finite(raw: bytes | str | int) -> float:
    value = float(raw.decode() if isinstance(raw, bytes) else raw)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def _parse_take(reply: list[bytes | int]) -> Verdict:
    """Raises on a reply the script cannot have sent; the caller counts that as a failure."""
    if reply == [1]:
        return ALLOWED
    _, index, wait = reply
    refused_by = int(index) - 1
    if wait in (b"never", "never"):
        return Verdict(False, refused_by, None, never=True)
    return Verdict(False, refused_by, _finite(wait))


def build_bucket_store(config: Config) -> BucketStore:
    """Shared through Redis when the config names one (the session cache's, else state
    storage's); in process memory otherwise. Nothing connects here."""
    url = _redis_url(config)
    return RedisBucketStore(url) if url else MemoryBucketStore()


def _redis_url(config: Config) -> str | None:
    cache = config.routing.session_cache
    if cache.type is SessionCacheType.REDIS and cache.url:
        return cache.url
    state = config.state_storage
    if state is not None and state.type is StateStorageType.REDIS and state.url:
        return state.url
    return None
