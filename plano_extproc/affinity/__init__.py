"""Session affinity: a session id pinned to the model chosen by its first routed decision."""

from plano_extproc.affinity.base import AffinityStore, Pin
from plano_extproc.affinity.factory import build_affinity_store
from plano_extproc.affinity.keys import (
    AFFINITY_HEADER,
    AFFINITY_KEY_PREFIX,
    SESSION_ID_HEADER,
    affinity_key,
    session_from_headers,
)
from plano_extproc.affinity.memory import MemoryAffinityStore
from plano_extproc.affinity.redis_store import RedisAffinityStore

__all__ = [
    "AFFINITY_HEADER",
    "AFFINITY_KEY_PREFIX",
    "SESSION_ID_HEADER",
    "AffinityStore",
    "MemoryAffinityStore",
    "Pin",
    "RedisAffinityStore",
    "affinity_key",
    "build_affinity_store",
    "session_from_headers",
]
