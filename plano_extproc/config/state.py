"""The `state_storage` section: where Responses conversations are kept, in memory or Redis."""

from __future__ import annotations

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import StateStorageSettings, StateStorageType
from plano_extproc.config.reader import Section
from plano_extproc.config.spec import STATE_STORAGE


def read_state_storage(top: Section, env: Environment) -> StateStorageSettings | None:
    """None when the file has no `state_storage`."""
    section = top.section("state_storage", STATE_STORAGE)
    if section is None:
        return None
    defaults = StateStorageSettings()
    storage_type = section.choice("type", StateStorageType, defaults.type) or defaults.type
    url = env.redis_url(section, required=storage_type is StateStorageType.REDIS)
    return StateStorageSettings(
        type=storage_type,
        url=url,
        ttl_seconds=section.integer("ttl_seconds", defaults.ttl_seconds, minimum=1),
        max_entries=section.integer("max_entries", defaults.max_entries, minimum=1),
    )
