"""Which provider serves a proxied request: pin → route → alias → requested model → default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from plano_extproc.config.model import Config, ModelProvider
from plano_extproc.routing.decision import Decision
from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.fields import excerpt


@dataclass(frozen=True, slots=True)
class ModelResolver:
    """Built once per config; `resolve` is a few dict lookups."""

    config: Config
    by_bare_id: Mapping[str, ModelProvider]

    @classmethod
    def for_config(cls, config: Config) -> ModelResolver:
        counts: dict[str, int] = {}
        models = [provider for provider in config.providers if not provider.is_wildcard]
        for provider in models:
            counts[provider.model_id] = counts.get(provider.model_id, 0) + 1
        # A bare id ("gpt-4o") only resolves when exactly one provider serves it.
        unique = {p.model_id: p for p in models if counts[p.model_id] == 1}
        return cls(config, MappingProxyType(unique))

    def resolve(self, decision: Decision | None, requested: str | None) -> ModelProvider:
        if decision is not None and decision.matched:
            return self.config.provider_by_name[decision.models[0]]
        if requested is None:
            return self._default()
        target = self.config.aliases.get(requested, requested)
        provider = self.config.provider_by_name.get(target) or self.by_bare_id.get(target)
        if provider is None:
            raise InvalidRequest(
                f"model '{excerpt(requested)}' is not served by any configured provider",
                reason="unknown_model",
            )
        return provider

    def _default(self) -> ModelProvider:
        default = self.config.default_provider
        if default is None:
            raise InvalidRequest(
                "the request has no 'model' and no provider is marked default: true",
                reason="missing_model",
            )
        return default
