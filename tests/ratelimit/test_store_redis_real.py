"""RedisBucketStore against a real redis-server: the memory store's verdicts, atomic charges
from two replicas at once, failing open while Redis is down and working again when it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

from plano_extproc.ratelimit.gcra import Quota
from plano_extproc.ratelimit.store import (
    EXPIRY_MARGIN_MS,
    KEY_PREFIX,
    Bucket,
    MemoryBucketStore,
    RedisBucketStore,
    Verdict,
)
from tests.ratelimit.helpers import TEAM, USER, StoreErrorCounts
from tests.support.clock import FakeClock
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis

T0 = 1_760_000_000.5
COOLDOWN = 0.2
HANG_GUARD_SECONDS = 5.0
# So slow to refill (a token every ~3 hours) that no token comes back during a test.
YEARLY = 86_400.0 * 365
_T = TypeVar("_T")

StoreFactory = Callable[..., RedisBucketStore]
_DEFAULT_BUDGET = 0.1


@pytest.fixture
async def new_store(redis_server: RedisServer) -> AsyncIterator[StoreFactory]:
    """Stores on the test server, each with its own client: one per replica."""
    stores: list[RedisBucketStore] = []

    def build(
        op_timeout: float = _DEFAULT_BUDGET, clock: Callable[[], float] = time.monotonic
    ) -> RedisBucketStore:
        store = RedisBucketStore(
            redis_server.url, op_timeout=op_timeout, cooldown_seconds=COOLDOWN, clock=clock
        )
        stores.append(store)
        return store

    yield build
    for store in stores:
        await store.close()


async def bounded(operation: Awaitable[_T]) -> _T:
    """Fails the test instead of hanging it when an operation ignores its time budget."""
    return await asyncio.wait_for(operation, timeout=HANG_GUARD_SECONDS)


async def test_the_same_verdicts_as_the_memory_store(new_store: StoreFactory) -> None:
    redis, memory = new_store(), MemoryBucketStore()
    odd = Quota(7, 60.0)  # an interval that is not exact in binary
    alice = [("user:alice", USER), ("team:acme", TEAM), ("odd:x", odd)]
    bob = [("user:bob", USER), ("team:acme", TEAM)]
    script: list[tuple[float, str, list[Bucket], int]] = [
        (0.0, "take", alice, 3),
        (0.0, "take", bob, 2),
        (0.1, "take", alice, 1),
        (0.2, "take", bob, 5),
        (0.25, "adjust", alice, -2),
        (0.25, "take", bob, 2),
        (0.3, "adjust", bob, 6),
        (0.9, "take", alice, 1),
        (1.5, "take", bob, 1),
        (8.57, "take", alice, 4),
        (8.58, "take", alice, 4),
        (60.0, "adjust", bob, -50),
        (61.0, "take", alice, 7),
        (61.0, "take", [alice[0], alice[2]], 7),
    ]
    for offset, operation, buckets, tokens in script:
        now = T0 + offset
        if operation == "take":
            expected = await memory.take(buckets, tokens, now)
            assert await redis.take(buckets, tokens, now) == expected, (offset, tokens)
        else:
            await memory.adjust(buckets, tokens, now)
            await redis.adjust(buckets, tokens, now)
        everyone = [*alice, bob[0]]
        assert await redis.available(everyone, now) == await memory.available(everyone, now)


async def test_redis_time_drives_the_buckets(
    new_store: StoreFactory, redis_server: RedisServer
) -> None:
    store = new_store()
    assert await store.take([("team:acme", TEAM)], 4) == Verdict(True)
    refused = await store.take([("team:acme", TEAM)], 1)
    assert refused.refused_by == 0
    assert refused.retry_after is not None
    assert 0 < refused.retry_after <= 0.25
    with redis_server.client() as client:
        assert 0 < client.pttl(KEY_PREFIX + "team:acme") <= 1000 + EXPIRY_MARGIN_MS


async def test_concurrent_charges_from_two_replicas_never_overdraw(
    new_store: StoreFactory,
) -> None:
    # A generous time budget: this checks atomicity, not speed, and a degraded verdict would
    # let a charge through unchecked.
    replicas = [new_store(op_timeout=5.0), new_store(op_timeout=5.0)]
    team = ("team:acme", Quota(100, YEARLY))
    users = [(f"user:{n}", Quota(1000, YEARLY)) for n in range(2)]
    cost = 7

    async def charge(replica: int) -> Verdict:
        return await replicas[replica].take([users[replica], team], cost)

    verdicts = await bounded(asyncio.gather(*(charge(n % 2) for n in range(60))))
    assert not any(v.degraded for v in verdicts)
    allowed = [sum(v.allowed for v in verdicts[n::2]) for n in range(2)]
    assert sum(allowed) * cost <= 100 + cost
    assert sum(allowed) == 100 // cost
    left = await replicas[0].available([*users, team])
    assert left == pytest.approx([1000 - allowed[0] * cost, 1000 - allowed[1] * cost, 2], abs=0.01)


async def test_a_killed_redis_fails_open_without_raising(
    new_store: StoreFactory, redis_server: RedisServer
) -> None:
    errors = StoreErrorCounts()
    store = new_store()
    buckets = [("team:acme", TEAM)]
    assert await bounded(store.take(buckets, 4)) == Verdict(True)

    redis_server.kill()

    assert await bounded(store.take(buckets, 4)) == Verdict(True, degraded=True)
    assert await bounded(store.take(buckets, 4)) == Verdict(True, degraded=True)
    await bounded(store.adjust(buckets, 3))
    assert await bounded(store.available(buckets)) == [4.0]
    assert errors("take") == 2
    assert errors("adjust") == errors("available") == 1


async def test_the_store_works_again_when_redis_is_back(
    new_store: StoreFactory, redis_server: RedisServer
) -> None:
    errors = StoreErrorCounts()
    clock = FakeClock()
    store = new_store(clock=clock)
    buckets = [("team:acme", Quota(4, YEARLY))]
    await bounded(store.take(buckets, 1))
    redis_server.kill()
    assert (await bounded(store.take(buckets, 1))).degraded

    redis_server.start()  # empty, and without the scripts: they are loaded again
    clock.advance(COOLDOWN)

    assert await bounded(store.take(buckets, 4)) == Verdict(True)
    assert not (await bounded(store.take(buckets, 1))).allowed
    assert errors("take") == 1
