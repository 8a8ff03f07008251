"""Bucket stores: a charge passes every bucket of the request or touches none, corrections and
reads cover every bucket, the memory store is bounded, the Redis store (on fakeredis, whose Lua
needs `lupa`) keeps expiring keys and fails open. Real redis-server: test_store_redis_real.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import fakeredis
import pytest

from plano_extproc.config.model import (
    Config,
    ModelProvider,
    RoutingSettings,
    SessionCacheSettings,
    SessionCacheType,
    StateStorageSettings,
    StateStorageType,
)
from plano_extproc.ratelimit.store import (
    EXPIRY_MARGIN_MS,
    KEY_PREFIX,
    BucketStore,
    MemoryBucketStore,
    RedisBucketStore,
    Verdict,
    build_bucket_store,
)
from tests.ratelimit.helpers import TEAM, USER, StoreErrorCounts
from tests.support.clock import FakeClock

T0 = 1000.0
BOTH = [("user:alice", USER), ("team:acme", TEAM)]


@pytest.fixture(params=["memory", "fakeredis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[BucketStore]:
    """Each store under test; time is given to every call, so both see the same clock."""
    built: BucketStore
    if request.param == "memory":
        built = MemoryBucketStore()
    else:
        pytest.importorskip("lupa", reason="fakeredis runs Lua scripts only with lupa")
        built = RedisBucketStore("redis://unused", client=fakeredis.FakeAsyncRedis())
    yield built
    await built.close()


async def test_a_charge_passes_every_bucket_or_none(store: BucketStore) -> None:
    assert await store.take(BOTH, 3, T0) == Verdict(True)
    assert await store.take(BOTH, 3, T0) == Verdict(False, refused_by=1, retry_after=0.5)
    assert await store.available(BOTH, T0) == [7.0, 1.0]


async def test_the_longest_wait_of_the_refusing_buckets_is_reported(store: BucketStore) -> None:
    half_full, empty = ("team:a", TEAM), ("team:b", TEAM)
    await store.take([half_full], 2, T0)
    await store.take([empty], 4, T0)
    verdict = await store.take([half_full, empty], 3, T0)
    assert verdict == Verdict(False, refused_by=1, retry_after=0.75)


async def test_a_cost_over_any_burst_never_passes_and_charges_nothing(store: BucketStore) -> None:
    verdict = await store.take(BOTH, 5, T0)
    assert verdict == Verdict(False, refused_by=1, retry_after=None, never=True)
    assert await store.available(BOTH, T0) == [10.0, 4.0]


async def test_a_cost_of_zero_or_no_bucket_always_passes(store: BucketStore) -> None:
    await store.take(BOTH, 4, T0)
    assert await store.take(BOTH, 0, T0) == Verdict(True)
    assert await store.take([], 100, T0) == Verdict(True)


async def test_buckets_refill_with_time(store: BucketStore) -> None:
    await store.take(BOTH, 4, T0)
    assert not (await store.take(BOTH, 1, T0 + 0.2)).allowed
    assert (await store.take(BOTH, 1, T0 + 0.25)).allowed
    user_refill = 0.25 * USER.tokens / USER.unit_seconds
    assert await store.available(BOTH, T0 + 0.25) == [pytest.approx(5 + user_refill), 0.0]


async def test_corrections_apply_to_every_bucket(store: BucketStore) -> None:
    await store.take(BOTH, 4, T0)
    await store.adjust(BOTH, -3, T0)
    assert await store.available(BOTH, T0) == [9.0, 3.0]
    await store.adjust(BOTH, 5, T0)
    assert await store.available(BOTH, T0) == [4.0, 0.0]
    assert await store.take(BOTH, 1, T0 + 0.25) == Verdict(False, refused_by=1, retry_after=0.5)
    await store.adjust(BOTH, -100, T0)
    assert await store.available(BOTH, T0) == [10.0, 4.0]


async def test_the_memory_store_reads_its_clock(clock: FakeClock) -> None:
    store = MemoryBucketStore(clock=clock)
    await store.take(BOTH, 4)
    assert not (await store.take(BOTH, 1)).allowed
    clock.advance(0.25)
    assert (await store.take(BOTH, 1)).allowed


async def test_the_memory_store_is_bounded_and_forgets_the_least_recent() -> None:
    store = MemoryBucketStore(max_buckets=3)
    for name in ("a", "b", "c"):
        await store.take([(name, TEAM)], 4, T0)
    await store.take([("a", TEAM)], 1, T0 + 0.25)
    await store.take([("d", TEAM)], 4, T0)
    assert len(store) == 3
    assert await store.available([(n, TEAM) for n in "abcd"], T0 + 0.25) == [0.0, 4.0, 1.0, 1.0]


async def test_the_memory_store_drops_buckets_that_are_full_again() -> None:
    store = MemoryBucketStore()
    await store.take(BOTH, 2, T0)
    assert len(store) == 2
    await store.adjust(BOTH, -2, T0)
    assert len(store) == 0


async def test_a_max_of_zero_buckets_is_refused() -> None:
    with pytest.raises(ValueError, match="max_buckets"):
        MemoryBucketStore(max_buckets=0)


@pytest.fixture
async def fake_redis() -> AsyncIterator[tuple[RedisBucketStore, fakeredis.FakeAsyncRedis]]:
    pytest.importorskip("lupa", reason="fakeredis runs Lua scripts only with lupa")
    client = fakeredis.FakeAsyncRedis()
    store = RedisBucketStore("redis://unused", client=client)
    yield store, client
    await store.close()


async def test_redis_buckets_expire_after_their_tat(
    fake_redis: tuple[RedisBucketStore, fakeredis.FakeAsyncRedis],
) -> None:
    store, client = fake_redis
    await store.take(BOTH, 3, T0)
    assert await client.get(KEY_PREFIX + "team:acme") == repr(T0 + 0.75).encode()
    # Times to live are relative to the call's time: the TAT's distance plus the margin.
    team_ttl = await client.pttl(KEY_PREFIX + "team:acme")
    user_ttl = await client.pttl(KEY_PREFIX + "user:alice")
    assert 0 < team_ttl <= 750 + EXPIRY_MARGIN_MS < user_ttl <= 18_000 + EXPIRY_MARGIN_MS
    await store.adjust(BOTH, -3, T0)
    assert await client.keys(KEY_PREFIX + "*") == []


async def test_redis_reads_its_own_clock_when_no_time_is_given(
    fake_redis: tuple[RedisBucketStore, fakeredis.FakeAsyncRedis],
) -> None:
    store, _ = fake_redis
    assert (await store.take(BOTH, 4)).allowed
    verdict = await store.take(BOTH, 1)
    assert verdict.refused_by == 1
    assert verdict.retry_after is not None
    assert 0 < verdict.retry_after <= 0.25


@pytest.fixture
async def unreachable(
    clock: FakeClock,
) -> AsyncIterator[RedisBucketStore]:
    server = fakeredis.FakeServer()
    server.connected = False
    store = RedisBucketStore(
        "redis://unused", clock=clock, client=fakeredis.FakeAsyncRedis(server=server)
    )
    yield store
    await store.close()


async def test_an_unreachable_redis_fails_open_and_is_counted(
    unreachable: RedisBucketStore,
) -> None:
    errors = StoreErrorCounts()
    assert await unreachable.take(BOTH, 4) == Verdict(True, degraded=True)
    assert await unreachable.take(BOTH, 100) == Verdict(True, degraded=True)
    await unreachable.adjust(BOTH, 7)
    assert await unreachable.available(BOTH) == [10.0, 4.0]
    assert (errors("take"), errors("adjust"), errors("available")) == (2, 1, 1)


async def test_an_outage_is_warned_about_at_most_once_a_minute(
    unreachable: RedisBucketStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="plano_extproc.redis_budget")
    for _ in range(3):
        await unreachable.take(BOTH, 1)
        clock.advance(20)
    assert len(caplog.records) == 1
    await unreachable.take(BOTH, 1)
    assert len(caplog.records) == 2
    assert "redis rate-limit take failed" in caplog.records[0].getMessage()


def config_with(
    session_cache: SessionCacheSettings | None = None, state: StateStorageSettings | None = None
) -> Config:
    routing = RoutingSettings(session_cache=session_cache or SessionCacheSettings())
    provider = ModelProvider(name="openai/gpt-4o", provider="openai", model_id="gpt-4o")
    return Config(version="v0.1", providers=(provider,), routing=routing, state_storage=state)


async def test_the_factory_shares_buckets_through_the_configs_redis() -> None:
    cache = SessionCacheSettings(type=SessionCacheType.REDIS, url="redis://cache:6379/0")
    state = StateStorageSettings(type=StateStorageType.REDIS, url="redis://state:6379/0")
    for config in (config_with(cache), config_with(state=state), config_with(cache, state)):
        store = build_bucket_store(config)
        assert isinstance(store, RedisBucketStore)
        await store.close()


def test_the_factory_keeps_buckets_in_memory_without_a_redis() -> None:
    memory_state = StateStorageSettings(type=StateStorageType.MEMORY)
    assert isinstance(build_bucket_store(config_with()), MemoryBucketStore)
    assert isinstance(build_bucket_store(config_with(state=memory_state)), MemoryBucketStore)
