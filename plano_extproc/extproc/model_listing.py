"""`GET /v1/models` in OpenAI's list format, built at config load: providers (a wildcard entry
as the models of its built-in list), then aliases. A key limited to some models sees only
those (`auth`), each key's listing built on first use."""

from __future__ import annotations

from typing import Any

import orjson

from plano_extproc.auth import Identity
from plano_extproc.config.model import Config, ModelAllowance


class ModelListing:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._everything = self._listing(None)
        # By allowance: as many as the config has keys (a token's claims could make more,
        # so those are built per request).
        self._by_allowance: dict[ModelAllowance, bytes] = {}
        self._keys = {key.models for key in config.auth.api_keys} if config.auth else set()

    def body(self, identity: Identity | None) -> bytes:
        if identity is None or identity.models is None:
            return self._everything
        allowance = identity.models
        if allowance not in self._keys:
            return self._listing(allowance)
        listing = self._by_allowance.get(allowance)
        if listing is None:
            listing = self._by_allowance[allowance] = self._listing(allowance)
        return listing

    def _listing(self, allowance: ModelAllowance | None) -> bytes:
        config = self._config
        entries: list[dict[str, Any]] = [
            {"id": p.name, "object": "model", "created": 0, "owned_by": p.provider}
            for p in config.providers
            if not p.is_wildcard and (allowance is None or allowance.allows(p))
        ]
        entries += [
            {"id": alias, "object": "model", "created": 0, "owned_by": "alias"}
            for alias, target in config.aliases.items()
            if allowance is None or allowance.allows(config.provider_by_name[target])
        ]
        return orjson.dumps({"object": "list", "data": entries})
