"""RedisAffinityStore against a real redis-server: shared pins, TTL, outage and restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

from plano_extproc.affinity.base import Pin
from plano_extproc.affinity.redis_store import RedisAffinityStore
from tests.affinity.helpers import RedisErrorCounts
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis

PIN = Pin("openai/gpt-4o", "code_generation")
OTHER_PIN = Pin("anthropic/claude-sonnet-4-20250514", "complex_reasoning")
KEY = "plano:affinity:acme:s1"
TTL = 600
COOLDOWN = 0.2
HANG_GUARD_SECONDS = 2.0
RECOVERY_DEADLINE_SECONDS = 10.0

StoreFactory = Callable[[], RedisAffinityStore]
_T = TypeVar("_T")


@pytest.fixture
async def new_store(redis_server: RedisServer) -> AsyncIterator[StoreFactory]:
    """Stores on the test server; each one stands for a separate replica."""
    stores: list[RedisAffinityStore] = []

    def build() -> RedisAffinityStore:
        stores.append(RedisAffinityStore(redis_server.url, TTL, cooldown_seconds=COOLDOWN))
        return stores[-1]

    yield build
    for store in stores:
        await store.close()


async def bounded(operation: Awaitable[_T]) -> _T:
    """Fails the test instead of hanging it when an operation ignores its time budget."""
    return await asyncio.wait_for(operation, timeout=HANG_GUARD_SECONDS)


async def test_replicas_share_the_first_pin(new_store: StoreFactory) -> None:
    replica_a, replica_b = new_store(), new_store()
    await replica_a.put(KEY, PIN)
    await replica_b.put(KEY, OTHER_PIN)
    assert await replica_b.get(KEY) == PIN
    assert await replica_a.get(KEY) == PIN


async def test_ttl_is_set_by_the_first_write_only(
    new_store: StoreFactory, redis_server: RedisServer
) -> None:
    store = new_store()
    await store.put(KEY, PIN)
    with redis_server.client() as client:
        first_ttl = client.pttl(KEY)
        await asyncio.sleep(0.05)
        await store.get(KEY)
        await store.put(KEY, OTHER_PIN)
        later_ttl = client.pttl(KEY)
        assert client.get(KEY) == b'{"model":"openai/gpt-4o","route":"code_generation"}'
    assert 0 < later_ttl < first_ttl <= TTL * 1000


async def test_killed_redis_gives_quick_misses_and_counted_errors(
    new_store: StoreFactory, redis_server: RedisServer, redis_errors: RedisErrorCounts
) -> None:
    store = new_store()
    await store.put(KEY, PIN)
    assert await store.get(KEY) == PIN

    redis_server.kill()

    assert await bounded(store.get(KEY)) is None
    await bounded(store.put(KEY, PIN))
    assert redis_errors("get") == 1
    assert redis_errors("put") == 1


async def test_restart_between_requests_is_picked_up_without_errors(
    new_store: StoreFactory, redis_server: RedisServer, redis_errors: RedisErrorCounts
) -> None:
    store = new_store()
    await store.put(KEY, PIN)

    redis_server.kill()
    redis_server.start()

    assert await bounded(store.get(KEY)) is None  # no persistence: the restarted server is empty
    await bounded(store.put(KEY, OTHER_PIN))
    assert await bounded(store.get(KEY)) == OTHER_PIN
    assert redis_errors("get") == redis_errors("put") == 0


async def test_store_works_again_after_an_outage(
    new_store: StoreFactory, redis_server: RedisServer, redis_errors: RedisErrorCounts
) -> None:
    store = new_store()
    redis_server.kill()
    await bounded(store.put(KEY, PIN))
    assert redis_errors("put") == 1

    redis_server.start()

    assert await pin_eventually(store, PIN)


async def pin_eventually(store: RedisAffinityStore, pin: Pin) -> bool:
    """Keep pinning until a read returns `pin`, within RECOVERY_DEADLINE_SECONDS."""
    deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        await bounded(store.put(KEY, pin))
        if await bounded(store.get(KEY)) == pin:
            return True
        await asyncio.sleep(COOLDOWN / 4)
    return False
