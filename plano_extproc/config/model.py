"""Typed, immutable view of a Plano v0.4.0 configuration.

Everything here is plain data: the loader (`loader.py` and its section readers) builds these
objects after validation, and the rest of the service only ever reads them.

URLs (`base_url`, the classifier's `base_url`) are prefixes without a trailing slash: API paths
such as ``/v1/chat/completions`` or ``/v1/messages`` are appended to them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from plano_extproc.config.retry_policy import RetryPolicy
from plano_extproc.providers.registry import ProviderApi, ProviderFamily, family_for

# A wildcard entry's model id (`openai/*`), and the most models derived from wildcards that a
# config remembers (any model a client names under a wildcard's prefix is one).
WILDCARD = "*"
MAX_DERIVED_PROVIDERS = 1024
# Longer names are served by no wildcard: a client must not make the index hold megabytes.
MAX_DERIVED_NAME_CHARS = 256


class SelectionPolicy(StrEnum):
    NONE = "none"
    CHEAPEST = "cheapest"
    FASTEST = "fastest"
    RANDOM = "random"


class ClassifierType(StrEnum):
    EMBEDDED = "embedded"
    LEXICAL = "lexical"
    TRITON = "triton"
    OPENAI = "openai"


DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024


class SessionCacheType(StrEnum):
    MEMORY = "memory"
    REDIS = "redis"


@dataclass(frozen=True, slots=True)
class ModelProvider:
    """One `model_providers` entry. `name` is the config string, e.g. ``openai/gpt-4o``.

    After loading, `base_url` is always set: the configured one or the provider's well-known
    endpoint. `access_key` is the expanded key; it is None when the entry has none, or when its
    variable (`access_key_env`) was unset and the config was loaded with ``require_keys=False``.
    `label` is Plano's optional `name` for the entry; `http_host` and `headers` are sent upstream.
    Keys are left out of `repr` so that logging a provider never leaks one.
    """

    name: str
    provider: str
    model_id: str
    access_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    default: bool = False
    passthrough_auth: bool = False
    provider_interface: str | None = None
    label: str | None = None
    http_host: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    access_key_env: str | None = None
    # Ours (`upstream_api: messages`): OpenAI-format clients reach an Anthropic provider through
    # its native Messages API, translated, instead of its OpenAI-compatible endpoint.
    native_messages: bool = False
    retry_policy: RetryPolicy | None = None
    # For a model a `provider/*` entry serves: that entry's name (its cluster and credentials).
    wildcard_of: str | None = None
    # Its entry in the provider table, by `provider_interface` when set; looked up once, here,
    # not on every request that asks for the provider's API.
    family: ProviderFamily = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", family_for(self.provider, self.provider_interface))

    @property
    def is_wildcard(self) -> bool:
        """`provider/*` (or `provider/org/*`): any model under `wildcard_prefix`."""
        return self.model_id == WILDCARD or self.model_id.endswith("/" + WILDCARD)

    @property
    def wildcard_prefix(self) -> str:
        """The start of the model names a wildcard entry serves: `openai/` for `openai/*`."""
        return self.name.removesuffix(WILDCARD)

    def serving(self, name: str) -> ModelProvider:
        """This wildcard entry as the provider of `name`, a model under its prefix."""
        model_id = self.model_id.removesuffix(WILDCARD) + name.removeprefix(self.wildcard_prefix)
        return replace(
            self, name=name, model_id=model_id, label=None, default=False, wildcard_of=self.name
        )

    @property
    def api(self) -> ProviderApi:
        return self.family.native_api

    @property
    def speaks_responses(self) -> bool:
        """Whether the provider serves OpenAI's Responses API itself."""
        return self.family.serves_responses


@dataclass(frozen=True, slots=True)
class Route:
    """A routing preference: when the conversation matches `description`, use one of `models`."""

    name: str
    description: str
    models: tuple[str, ...]
    policy: SelectionPolicy = SelectionPolicy.NONE
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigitalOceanPricingSource:
    refresh_interval: float = 3600.0
    url: str = "https://api.digitalocean.com/v2/gen-ai/models/catalog"
    model_aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class CostEndpointSource:
    url: str
    token: str | None = field(default=None, repr=False)
    refresh_interval: float = 300.0


@dataclass(frozen=True, slots=True)
class PrometheusLatencySource:
    url: str
    query: str
    refresh_interval: float = 60.0


CostSource = DigitalOceanPricingSource | CostEndpointSource
MetricsSource = DigitalOceanPricingSource | CostEndpointSource | PrometheusLatencySource


@dataclass(frozen=True, slots=True)
class SessionCacheSettings:
    type: SessionCacheType = SessionCacheType.MEMORY
    url: str | None = None
    tenant_header: str | None = None


class StateStorageType(StrEnum):
    MEMORY = "memory"
    REDIS = "redis"


@dataclass(frozen=True, slots=True)
class StateStorageSettings:
    """`state_storage`: where Responses conversations are kept (see plano_extproc.conversations).
    `url` is for redis; `ttl_seconds` and `max_entries` (memory) are ours."""

    type: StateStorageType = StateStorageType.MEMORY
    url: str | None = None
    ttl_seconds: int = 86_400
    max_entries: int = 10_000


@dataclass(frozen=True, slots=True)
class TritonSettings:
    url: str = "localhost:8001"
    model: str = "arch_router"


@dataclass(frozen=True, slots=True)
class OpenAIClassifierSettings:
    base_url: str
    model: str = "Arch-Router"
    access_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    type: ClassifierType = ClassifierType.EMBEDDED
    timeout_ms: int = 500
    threshold: float | None = None
    triton: TritonSettings | None = None
    openai: OpenAIClassifierSettings | None = None


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    session_ttl_seconds: int = 600
    session_max_entries: int = 10000
    session_cache: SessionCacheSettings = field(default_factory=SessionCacheSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """Plano's `tracing`: OpenTelemetry spans from Envoy and the ext_proc, exported over
    OTLP/gRPC to `endpoint` (``http(s)://host:port``); `sampling_percent` of the traces that no
    client decided (a client's sampled flag in `traceparent` is followed)."""

    endpoint: str = "http://localhost:4317"
    sampling_percent: float = 100.0


@dataclass(frozen=True, slots=True)
class ModelAllowance:
    """The models a key or token may use: provider names (aliases resolved at load), and the
    wildcard entries (`openai/*`) whose every model it may use."""

    names: frozenset[str]

    def allows(self, provider: ModelProvider) -> bool:
        return provider.name in self.names or (
            provider.wildcard_of is not None and provider.wildcard_of in self.names
        )


@dataclass(frozen=True, slots=True)
class ApiKeyEntry:
    name: str
    key_sha256: bytes  # the digest itself (32 bytes)
    team: str | None = None
    models: ModelAllowance | None = None  # None: every model
    expires: dt.date | None = None  # the last day the key works, UTC


@dataclass(frozen=True, slots=True)
class JwtSettings:
    issuer: str
    audiences: tuple[str, ...] = ()
    jwks_file: str | None = None
    jwks_uri: str | None = None
    name_claim: str = "sub"
    team_claim: str | None = None
    models_claim: str | None = None


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Ours: `auth` (config/auth.py); None in Config: nothing is checked."""

    api_keys: tuple[ApiKeyEntry, ...] = ()
    jwt: JwtSettings | None = None
    max_failures_per_minute: int = 10


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """One `ratelimits` entry (config/ratelimits.py): at most `tokens` per `unit_seconds` for
    `model` and each request whose `header` has `value` (None: each distinct value its own)."""

    model: str  # a provider's name, or a wildcard entry's (each model it serves on its own)
    header: str  # lowercased
    value: str | None
    tokens: int
    unit_seconds: int


@dataclass(frozen=True, slots=True)
class Listener:
    name: str = "egress_traffic"
    address: str = "0.0.0.0"
    port: int = 12000
    timeout_seconds: float = 300.0
    # Plano's: retries of a failed upstream request on the same provider; 0 means one request.
    max_retries: int = 0
    # Ours: the one request body limit (Envoy's 413, the service's parse limit, gRPC messages).
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES


@dataclass(frozen=True, slots=True)
class Config:
    version: str
    providers: tuple[ModelProvider, ...]
    routes: tuple[Route, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    metrics_sources: tuple[MetricsSource, ...] = ()
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    listeners: tuple[Listener, ...] = (Listener(),)
    state_storage: StateStorageSettings | None = None
    # None: no `tracing` section (or random_sampling 0), so nothing is traced.
    tracing: TracingSettings | None = None
    auth: AuthSettings | None = None
    ratelimits: tuple[RateLimitRule, ...] = ()
    warnings: tuple[str, ...] = ()
    provider_by_name: Mapping[str, ModelProvider] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "provider_by_name", ProviderIndex(self.providers))

    @property
    def default_provider(self) -> ModelProvider | None:
        return next((p for p in self.providers if p.default), None)

    @property
    def cost_source(self) -> CostSource | None:
        return next(
            (s for s in self.metrics_sources if not isinstance(s, PrometheusLatencySource)), None
        )

    @property
    def latency_source(self) -> PrometheusLatencySource | None:
        return next(
            (s for s in self.metrics_sources if isinstance(s, PrometheusLatencySource)), None
        )


def default_of(cls: type, name: str) -> Any:
    """The declared default of a dataclass field, for classes without a no-argument form."""
    return next(item.default for item in fields(cls) if item.name == name)


class ProviderIndex(Mapping[str, ModelProvider]):
    """Providers by name: the declared ones, and any model under a wildcard's prefix
    (`openai/gpt-5-pro` under `openai/*`), derived on first use and remembered (bounded)."""

    def __init__(self, providers: tuple[ModelProvider, ...]) -> None:
        self._declared = {p.name: p for p in providers}
        # Longest prefix first, so `openrouter/anthropic/*` wins over `openrouter/*`.
        self._wildcards = sorted(
            (p for p in providers if p.is_wildcard),
            key=lambda p: len(p.wildcard_prefix),
            reverse=True,
        )
        self._derived: dict[str, ModelProvider] = {}

    def __getitem__(self, name: str) -> ModelProvider:
        found = self._declared.get(name) or self._derived.get(name)
        if found is not None:
            return found
        wildcard = self.wildcard_for(name)
        if wildcard is None:
            raise KeyError(name)
        if len(self._derived) >= MAX_DERIVED_PROVIDERS:
            self._derived.pop(next(iter(self._derived)))
        derived = self._derived[name] = wildcard.serving(name)
        return derived

    def wildcard_for(self, name: str) -> ModelProvider | None:
        """The wildcard entry that serves `name`, when no declared entry does."""
        if name in self._declared or len(name) > MAX_DERIVED_NAME_CHARS:
            return None
        return next(
            (
                p
                for p in self._wildcards
                if name.startswith(p.wildcard_prefix) and len(name) > len(p.wildcard_prefix)
            ),
            None,
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)
