from __future__ import annotations

import pytest

from plano_extproc.affinity.factory import build_affinity_store
from plano_extproc.affinity.memory import MemoryAffinityStore
from plano_extproc.affinity.redis_store import RedisAffinityStore
from plano_extproc.config.model import RoutingSettings, SessionCacheSettings, SessionCacheType


def test_default_settings_build_a_memory_store() -> None:
    assert isinstance(build_affinity_store(RoutingSettings()), MemoryAffinityStore)


async def test_redis_settings_build_a_redis_store_without_connecting() -> None:
    cache = SessionCacheSettings(type=SessionCacheType.REDIS, url="redis://127.0.0.1:1/0")
    store = build_affinity_store(RoutingSettings(session_cache=cache))
    assert isinstance(store, RedisAffinityStore)
    await store.close()


def test_redis_without_url_is_rejected() -> None:
    cache = SessionCacheSettings(type=SessionCacheType.REDIS)
    with pytest.raises(ValueError, match=r"session_cache\.url"):
        build_affinity_store(RoutingSettings(session_cache=cache))
