"""Builds the affinity store the configuration asks for."""

from __future__ import annotations

from plano_extproc.affinity.base import AffinityStore
from plano_extproc.affinity.memory import MemoryAffinityStore
from plano_extproc.affinity.redis_store import RedisAffinityStore
from plano_extproc.config.model import RoutingSettings, SessionCacheType


def build_affinity_store(settings: RoutingSettings) -> AffinityStore:
    """A Redis store when `session_cache.type` is redis, else an in-process one. Neither connects
    here: a Redis that is down at startup is only counted as errors once requests arrive."""
    cache = settings.session_cache
    if cache.type is SessionCacheType.REDIS:
        if not cache.url:
            raise ValueError("routing.session_cache.url is required when type is redis")
        return RedisAffinityStore(cache.url, settings.session_ttl_seconds)
    return MemoryAffinityStore(settings.session_ttl_seconds, settings.session_max_entries)
