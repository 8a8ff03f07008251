"""Block stores: a blocked model is skipped until its block ends; slow answers are counted in
a window; a failing Redis reads as "nothing blocked" and never raises."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest
from prometheus_client import REGISTRY

from plano_extproc.config.model import RoutingSettings, SessionCacheSettings, SessionCacheType
from plano_extproc.failover.blocks import (
    KEY_PREFIX,
    MemoryBlockStore,
    RedisBlockStore,
    build_block_store,
)
from tests.support.clock import FakeClock

A, B = "openai/a", "anthropic/b"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_memory_blocks_end_on_time(clock: FakeClock) -> None:
    store = MemoryBlockStore(clock)
    await store.block([A], 10)
    assert await store.blocked([A, B]) == {A}
    clock.advance(9.9)
    assert await store.blocked([A, B]) == {A}
    clock.advance(0.2)
    assert await store.blocked([A, B]) == set()


async def test_a_shorter_block_never_shortens_a_longer_one(clock: FakeClock) -> None:
    store = MemoryBlockStore(clock)
    await store.block([A], 60)
    await store.block([A], 1)
    clock.advance(30)
    assert await store.blocked([A]) == {A}


async def test_slow_answers_are_counted_per_window(clock: FakeClock) -> None:
    store = MemoryBlockStore(clock)
    assert [await store.count_slow(A, 10) for _ in range(3)] == [1, 2, 3]
    assert await store.count_slow(B, 10) == 1
    clock.advance(10)
    assert await store.count_slow(A, 10) == 1
    await store.block([A], 5)
    assert await store.count_slow(A, 10) == 1


@pytest.fixture
async def redis_store() -> AsyncIterator[tuple[RedisBlockStore, fakeredis.FakeAsyncRedis]]:
    client = fakeredis.FakeAsyncRedis()
    store = RedisBlockStore("redis://unused", client=client)
    yield store, client
    await store.close()


async def test_redis_blocks_are_keys_that_expire_with_the_block(
    redis_store: tuple[RedisBlockStore, fakeredis.FakeAsyncRedis],
) -> None:
    store, client = redis_store
    await store.block([A, B], 30)
    assert await store.blocked([A, B, "openai/c"]) == {A, B}
    ttl_ms = await client.pttl(KEY_PREFIX + A)
    assert 29_000 < ttl_ms <= 30_000
    await client.delete(KEY_PREFIX + A)
    assert await store.blocked([A, B]) == {B}


async def test_redis_counts_slow_answers_in_an_expiring_window(
    redis_store: tuple[RedisBlockStore, fakeredis.FakeAsyncRedis],
) -> None:
    store, client = redis_store
    assert [await store.count_slow(A, 60) for _ in range(2)] == [1, 2]
    assert 0 < await client.pttl("plano:slow:" + A) <= 60_000


async def test_an_unreachable_redis_blocks_nothing_and_counts_errors() -> None:
    def errors() -> float:
        value = REGISTRY.get_sample_value(
            "plano_block_store_errors_total", {"backend": "redis", "operation": "get"}
        )
        return value or 0.0

    before = errors()
    store = RedisBlockStore("redis://127.0.0.1:1/0")
    await store.block([A], 30)
    assert await store.blocked([A]) == set()
    assert await store.count_slow(A, 30) == 0
    await store.close()
    assert errors() > before


def test_blocks_are_shared_exactly_when_the_session_cache_is_redis() -> None:
    redis = RoutingSettings(
        session_cache=SessionCacheSettings(
            type=SessionCacheType.REDIS, url="redis://127.0.0.1:6379"
        )
    )
    assert isinstance(build_block_store(redis), RedisBlockStore)
    assert isinstance(build_block_store(RoutingSettings()), MemoryBlockStore)
