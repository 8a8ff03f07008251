"""RedisConversationStore against fakeredis, a scripted client, and a real redis-server (the
`redis` tests, skipped when the binary is missing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import fakeredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from plano_extproc.conversations.base import StateUnavailable
from plano_extproc.conversations.redis_store import KEY_PREFIX, RedisConversationStore
from tests.support.redis_server import RedisServer

TTL = 600
OP_TIMEOUT = 0.05
REAL_OP_TIMEOUT = 0.2
HANG_GUARD_SECONDS = 2.0
ITEMS = [
    {"role": "user", "content": "hello ✓"},
    {
        "type": "message",
        "id": "msg_1_0",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hi there.", "annotations": []}],
    },
]


class ScriptedClient:
    """Stands in for redis.asyncio.Redis: can fail, or hang until released."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.error: BaseException | None = None
        self.hang = False
        self.closed = False

    async def get(self, key: str) -> bytes | None:
        await self._serve("get")
        return None

    async def set(self, key: str, value: bytes, **options: Any) -> bool:
        await self._serve("set")
        return True

    async def aclose(self) -> None:
        self.closed = True

    async def _serve(self, operation: str) -> None:
        self.calls.append(operation)
        if self.hang:
            await asyncio.sleep(3600)
        if self.error is not None:
            raise self.error


@pytest.fixture
def fake_client() -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())


@pytest.fixture
async def store(fake_client: fakeredis.FakeAsyncRedis) -> AsyncIterator[RedisConversationStore]:
    store = RedisConversationStore("redis://unused", client=fake_client)
    yield store
    await store.close()


@pytest.fixture
def scripted() -> ScriptedClient:
    return ScriptedClient()


@pytest.fixture
def scripted_store(scripted: ScriptedClient) -> RedisConversationStore:
    return RedisConversationStore(
        "redis://unused",
        op_timeout=OP_TIMEOUT,
        client=scripted,  # type: ignore[arg-type]
    )


StoreFactory = Callable[[], RedisConversationStore]


@pytest.fixture
async def new_store(redis_server: RedisServer) -> AsyncIterator[StoreFactory]:
    """Stores on a real server; each one stands for a separate replica."""
    stores: list[RedisConversationStore] = []

    def build() -> RedisConversationStore:
        stores.append(RedisConversationStore(redis_server.url, op_timeout=REAL_OP_TIMEOUT))
        return stores[-1]

    yield build
    for store in stores:
        await store.close()


async def bounded(operation: Any) -> Any:
    """Fails the test instead of hanging it when an operation ignores its time budget."""
    return await asyncio.wait_for(operation, timeout=HANG_GUARD_SECONDS)


async def test_get_returns_the_items_put(store: RedisConversationStore) -> None:
    await store.put("resp_1", ITEMS, TTL)
    assert await store.get("resp_1") == ITEMS


async def test_empty_items_round_trip(store: RedisConversationStore) -> None:
    await store.put("resp_1", [], TTL)
    assert await store.get("resp_1") == []


async def test_unknown_key_is_a_miss(store: RedisConversationStore) -> None:
    assert await store.get("resp_missing") is None


async def test_value_is_json_under_the_prefix_with_ttl(
    store: RedisConversationStore, fake_client: fakeredis.FakeAsyncRedis
) -> None:
    await store.put("resp_1", ITEMS, TTL)
    assert KEY_PREFIX == "plano:responses:"
    assert await fake_client.keys("*") == [b"plano:responses:resp_1"]
    raw = await fake_client.get("plano:responses:resp_1")
    assert raw is not None
    assert raw.startswith(b'[{"role":"user","content":"hello \xe2\x9c\x93"}')
    assert await fake_client.ttl("plano:responses:resp_1") == TTL


async def test_a_rewrite_replaces_the_items_and_the_ttl(
    store: RedisConversationStore, fake_client: fakeredis.FakeAsyncRedis
) -> None:
    await store.put("resp_1", ITEMS, 30)
    await store.put("resp_1", ITEMS[:1], TTL)
    assert await store.get("resp_1") == ITEMS[:1]
    assert await fake_client.ttl("plano:responses:resp_1") == TTL


async def test_keys_without_the_prefix_are_not_read(
    store: RedisConversationStore, fake_client: fakeredis.FakeAsyncRedis
) -> None:
    await fake_client.set("resp_1", b"[]")
    assert await store.get("resp_1") is None


async def test_mutating_a_result_does_not_change_the_store(store: RedisConversationStore) -> None:
    await store.put("resp_1", ITEMS, TTL)
    first = await store.get("resp_1")
    assert first is not None
    first[0]["content"] = "changed"
    assert await store.get("resp_1") == ITEMS


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'[{"role":"user"', b"\xff\xfe", b""],
    ids=["text", "truncated", "not-utf8", "empty"],
)
async def test_unreadable_json_is_unavailable(
    store: RedisConversationStore, fake_client: fakeredis.FakeAsyncRedis, raw: bytes
) -> None:
    await fake_client.set("plano:responses:resp_1", raw)
    with pytest.raises(StateUnavailable, match="resp_1"):
        await store.get("resp_1")


@pytest.mark.parametrize(
    "error",
    [
        RedisConnectionError("connection refused"),
        RedisTimeoutError("read timed out"),
        ConnectionResetError("reset by peer"),
    ],
    ids=["connection-error", "redis-timeout", "os-error"],
)
async def test_a_failing_get_is_unavailable(
    scripted: ScriptedClient, scripted_store: RedisConversationStore, error: Exception
) -> None:
    scripted.error = error
    with pytest.raises(StateUnavailable) as raised:
        await bounded(scripted_store.get("resp_1"))
    assert raised.value.__cause__ is error
    assert scripted.calls == ["get"]


@pytest.mark.parametrize(
    "error",
    [
        RedisConnectionError("connection refused"),
        RedisTimeoutError("read timed out"),
        ConnectionResetError("reset by peer"),
    ],
    ids=["connection-error", "redis-timeout", "os-error"],
)
async def test_a_failing_put_is_unavailable(
    scripted: ScriptedClient, scripted_store: RedisConversationStore, error: Exception
) -> None:
    scripted.error = error
    with pytest.raises(StateUnavailable) as raised:
        await bounded(scripted_store.put("resp_1", ITEMS, TTL))
    assert raised.value.__cause__ is error
    assert scripted.calls == ["set"]


async def test_a_hanging_get_is_unavailable_after_the_op_timeout(
    scripted: ScriptedClient, scripted_store: RedisConversationStore
) -> None:
    scripted.hang = True
    started = time.monotonic()
    with pytest.raises(StateUnavailable):
        await bounded(scripted_store.get("resp_1"))
    assert OP_TIMEOUT * 0.5 <= time.monotonic() - started < 1.0


async def test_a_hanging_put_is_unavailable_after_the_op_timeout(
    scripted: ScriptedClient, scripted_store: RedisConversationStore
) -> None:
    scripted.hang = True
    started = time.monotonic()
    with pytest.raises(StateUnavailable):
        await bounded(scripted_store.put("resp_1", ITEMS, TTL))
    assert OP_TIMEOUT * 0.5 <= time.monotonic() - started < 1.0


async def test_the_store_works_again_once_the_client_does(
    scripted: ScriptedClient, scripted_store: RedisConversationStore
) -> None:
    scripted.error = RedisConnectionError("down")
    with pytest.raises(StateUnavailable):
        await scripted_store.get("resp_1")
    scripted.error = None
    assert await scripted_store.get("resp_1") is None
    await scripted_store.put("resp_1", ITEMS, TTL)


async def test_other_errors_are_not_swallowed(
    scripted: ScriptedClient, scripted_store: RedisConversationStore
) -> None:
    scripted.error = ValueError("a bug, not an outage")
    with pytest.raises(ValueError, match="a bug"):
        await scripted_store.get("resp_1")


async def test_close_closes_the_client(
    scripted: ScriptedClient, scripted_store: RedisConversationStore
) -> None:
    await scripted_store.close()
    assert scripted.closed


async def test_unreachable_url_is_unavailable_quickly() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    store = RedisConversationStore("redis://127.0.0.1:1/0", op_timeout=OP_TIMEOUT)
    try:
        with pytest.raises(StateUnavailable):
            await bounded(store.get("resp_1"))
        with pytest.raises(StateUnavailable):
            await bounded(store.put("resp_1", ITEMS, TTL))
    finally:
        await store.close()


@pytest.mark.redis
async def test_real_redis_replicas_share_conversations(
    new_store: StoreFactory, redis_server: RedisServer
) -> None:
    replica_a, replica_b = new_store(), new_store()
    await replica_a.put("resp_1", ITEMS, TTL)
    assert await replica_b.get("resp_1") == ITEMS
    assert await replica_b.get("resp_other") is None
    with redis_server.client() as client:
        assert client.keys("*") == [b"plano:responses:resp_1"]
        assert 0 < client.ttl("plano:responses:resp_1") <= TTL


@pytest.mark.redis
async def test_real_redis_killed_is_unavailable_quickly(
    new_store: StoreFactory, redis_server: RedisServer
) -> None:
    store = new_store()
    await store.put("resp_1", ITEMS, TTL)
    assert await store.get("resp_1") == ITEMS

    redis_server.kill()

    with pytest.raises(StateUnavailable):
        await bounded(store.get("resp_1"))
    with pytest.raises(StateUnavailable):
        await bounded(store.put("resp_1", ITEMS, TTL))
