"""RedisAffinityStore against fakeredis and a scripted client (no server needed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from plano_extproc.affinity.base import Pin
from plano_extproc.affinity.redis_store import RedisAffinityStore
from tests.affinity.helpers import RedisErrorCounts
from tests.support.clock import FakeClock

PIN = Pin("openai/gpt-4o", "code_generation")
OTHER_PIN = Pin("anthropic/claude-sonnet-4-20250514", "complex_reasoning")
KEY = "plano:affinity:s1"
TTL = 60
COOLDOWN = 1.0
LOGGER = "plano_extproc.redis_budget"


class ScriptedClient:
    """Stands in for redis.asyncio.Redis: counts calls, can fail, can hold calls at a gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.closed = False

    async def get(self, key: str) -> bytes | None:
        await self._serve()
        return None

    async def set(self, key: str, value: bytes, **options: Any) -> bool:
        await self._serve()
        return True

    async def aclose(self) -> None:
        self.closed = True

    async def _serve(self) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error


@pytest.fixture
def fake_server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def fake_client(fake_server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=fake_server)


@pytest.fixture
async def store(
    fake_client: fakeredis.FakeAsyncRedis, clock: FakeClock
) -> AsyncIterator[RedisAffinityStore]:
    store = RedisAffinityStore("redis://unused", TTL, clock=clock, client=fake_client)
    yield store
    await store.close()


@pytest.fixture
def scripted() -> ScriptedClient:
    return ScriptedClient()


@pytest.fixture
def scripted_store(scripted: ScriptedClient, clock: FakeClock) -> RedisAffinityStore:
    return RedisAffinityStore(
        "redis://unused",
        TTL,
        cooldown_seconds=COOLDOWN,
        clock=clock,
        client=scripted,  # type: ignore[arg-type]
    )


async def test_get_returns_the_pin_put(store: RedisAffinityStore) -> None:
    await store.put(KEY, PIN)
    assert await store.get(KEY) == PIN


async def test_pin_without_route_round_trips(store: RedisAffinityStore) -> None:
    await store.put(KEY, Pin("openai/gpt-4o", None))
    assert await store.get(KEY) == Pin("openai/gpt-4o", None)


async def test_unknown_key_is_a_miss(
    store: RedisAffinityStore, redis_errors: RedisErrorCounts
) -> None:
    assert await store.get(KEY) is None
    assert redis_errors("get") == 0


async def test_value_is_compact_json_with_ttl(
    store: RedisAffinityStore, fake_client: fakeredis.FakeAsyncRedis
) -> None:
    await store.put(KEY, PIN)
    assert await fake_client.get(KEY) == b'{"model":"openai/gpt-4o","route":"code_generation"}'
    assert await fake_client.ttl(KEY) == TTL


async def test_first_write_wins(store: RedisAffinityStore) -> None:
    await store.put(KEY, PIN)
    await store.put(KEY, OTHER_PIN)
    assert await store.get(KEY) == PIN


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'["openai/gpt-4o"]',
        b'{"route":"r"}',
        b'{"model":1,"route":"r"}',
        b'{"model":"","route":"r"}',
        b'{"model":"m","route":5}',
    ],
)
async def test_bad_stored_value_is_a_counted_miss(
    store: RedisAffinityStore,
    fake_client: fakeredis.FakeAsyncRedis,
    redis_errors: RedisErrorCounts,
    raw: bytes,
) -> None:
    await fake_client.set(KEY, raw)
    assert await store.get(KEY) is None
    assert redis_errors("decode") == 1


async def test_unreachable_redis_reads_as_miss_and_drops_writes(
    store: RedisAffinityStore, fake_server: fakeredis.FakeServer, redis_errors: RedisErrorCounts
) -> None:
    fake_server.connected = False
    assert await store.get(KEY) is None
    await store.put(KEY, PIN)
    assert (redis_errors("get"), redis_errors("put")) == (1, 1)


async def test_store_recovers_when_redis_comes_back(
    store: RedisAffinityStore, fake_server: fakeredis.FakeServer, clock: FakeClock
) -> None:
    fake_server.connected = False
    await store.put(KEY, PIN)
    fake_server.connected = True
    clock.advance(COOLDOWN)
    await store.put(KEY, PIN)
    assert await store.get(KEY) == PIN


async def test_hung_redis_times_out_as_a_counted_miss(
    scripted: ScriptedClient, redis_errors: RedisErrorCounts
) -> None:
    scripted.gate = asyncio.Event()
    store = RedisAffinityStore("redis://unused", TTL, op_timeout=0.01, client=scripted)  # type: ignore[arg-type]
    assert await store.get(KEY) is None
    assert redis_errors("get") == 1


async def test_failure_skips_redis_during_cooldown(
    scripted_store: RedisAffinityStore,
    scripted: ScriptedClient,
    clock: FakeClock,
    redis_errors: RedisErrorCounts,
) -> None:
    scripted.error = RedisConnectionError("refused")
    await scripted_store.get(KEY)
    clock.advance(COOLDOWN / 2)
    await scripted_store.get(KEY)
    await scripted_store.put(KEY, PIN)
    assert scripted.calls == 1
    assert (redis_errors("get"), redis_errors("put")) == (2, 1)


async def test_after_cooldown_one_probe_goes_through_while_others_skip(
    scripted_store: RedisAffinityStore, scripted: ScriptedClient, clock: FakeClock
) -> None:
    scripted.error = RedisConnectionError("refused")
    await scripted_store.get(KEY)
    scripted.error = None
    clock.advance(COOLDOWN)
    scripted.gate = asyncio.Event()
    probe = asyncio.create_task(scripted_store.get(KEY))
    await asyncio.sleep(0)
    await scripted_store.get(KEY)
    assert scripted.calls == 2
    scripted.gate.set()
    await probe
    await scripted_store.get(KEY)
    assert scripted.calls == 3


async def test_failed_probe_restarts_the_cooldown(
    scripted_store: RedisAffinityStore, scripted: ScriptedClient, clock: FakeClock
) -> None:
    scripted.error = RedisConnectionError("refused")
    await scripted_store.get(KEY)
    clock.advance(COOLDOWN)
    await scripted_store.get(KEY)
    clock.advance(COOLDOWN / 2)
    await scripted_store.get(KEY)
    assert scripted.calls == 2


async def test_outage_warnings_are_rate_limited(
    scripted_store: RedisAffinityStore,
    scripted: ScriptedClient,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    scripted.error = RedisConnectionError("refused")
    for _ in range(20):
        await scripted_store.get(KEY)
        clock.advance(COOLDOWN)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    clock.advance(30)
    await scripted_store.get(KEY)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "suppressed" in warnings[1].getMessage()


async def test_flapping_logs_one_warning_and_one_recovery_per_interval(
    scripted_store: RedisAffinityStore,
    scripted: ScriptedClient,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    for _ in range(3):
        scripted.error = RedisConnectionError("refused")
        await scripted_store.get(KEY)
        scripted.error = None
        clock.advance(COOLDOWN)
        await scripted_store.get(KEY)
        await scripted_store.get(KEY)
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.WARNING, logging.INFO]
    assert caplog.records[1].getMessage() == "redis affinity store reachable again"


async def test_cancellation_is_not_swallowed(
    scripted_store: RedisAffinityStore, scripted: ScriptedClient
) -> None:
    scripted.gate = asyncio.Event()
    task = asyncio.create_task(scripted_store.get(KEY))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_probe_lets_the_next_call_probe(
    scripted_store: RedisAffinityStore, scripted: ScriptedClient, clock: FakeClock
) -> None:
    scripted.error = RedisConnectionError("refused")
    await scripted_store.get(KEY)
    scripted.error = None
    clock.advance(COOLDOWN)
    scripted.gate = asyncio.Event()
    probe = asyncio.create_task(scripted_store.get(KEY))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    scripted.gate.set()
    await scripted_store.get(KEY)
    assert scripted.calls == 3


async def test_close_closes_the_client(
    scripted_store: RedisAffinityStore, scripted: ScriptedClient
) -> None:
    await scripted_store.close()
    assert scripted.closed


async def test_real_client_against_a_closed_port_is_a_quick_miss(
    redis_errors: RedisErrorCounts,
) -> None:
    store = RedisAffinityStore("redis://127.0.0.1:1/0", TTL)
    try:
        assert await asyncio.wait_for(store.get(KEY), timeout=2) is None
        await asyncio.wait_for(store.put(KEY, PIN), timeout=2)
    finally:
        await store.close()
    assert (redis_errors("get"), redis_errors("put")) == (1, 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"op_timeout": 0}, "op_timeout"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
    ],
)
def test_rejects_bad_settings(options: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"url": "redis://unused", "ttl_seconds": TTL, **options}
    with pytest.raises(ValueError, match=message):
        RedisAffinityStore(**kwargs)
