"""The vocabulary of the configuration format: which keys each section accepts, and the tables
the loader checks values against.

`SECTION_SPECS` names every section after its definition in ``schema.json``; a test keeps the
two in step, so a key accepted here is always documented there and the other way round.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from plano_extproc.config.reader import KeySpec
from plano_extproc.config.retry_policy import (
    BACKOFF,
    HIGH_LATENCY_RULE,
    RETRY_AFTER_HANDLING,
    RETRY_POLICY,
    STATUS_CODE_RULE,
    TIMEOUT_RULE,
)

# Top-level routing_preferences first appeared in this version of the format.
TOP_LEVEL_ROUTES_SINCE = (0, 4, 0)
FORMAT_VERSION = (0, 4, 0)


class ProviderInterface(StrEnum):
    """Plano's `provider_interface` values; `anthropic`/`claude` mean the Messages API."""

    ANTHROPIC = "anthropic"
    CHATGPT = "chatgpt"
    CLAUDE = "claude"
    DEEPSEEK = "deepseek"
    DIGITALOCEAN = "digitalocean"
    EDENAI = "edenai"
    GEMINI = "gemini"
    GROQ = "groq"
    MISTRAL = "mistral"
    MOONSHOTAI = "moonshotai"
    OPENAI = "openai"
    OPENROUTER = "openrouter"
    PLANO = "plano"
    VERCEL = "vercel"
    XIAOMI = "xiaomi"


class UpstreamApi(StrEnum):
    """Ours: the API an Anthropic provider is called with for OpenAI-format clients."""

    CHAT_COMPLETIONS = "chat_completions"  # Plano's choice: its OpenAI-compatible endpoint
    MESSAGES = "messages"  # translated to the native Messages API


class ListenerType(StrEnum):
    MODEL = "model"
    PROMPT = "prompt"
    AGENT = "agent"


class MessageFormat(StrEnum):
    OPENAI = "openai"


class AuthType(StrEnum):
    BEARER = "bearer"


class SourceKind(StrEnum):
    """What a `model_metrics_sources` entry is, whichever of its two spellings was used."""

    DIGITALOCEAN = "digitalocean"
    COST_ENDPOINT = "cost_endpoint"
    PROMETHEUS = "prometheus"


TOP_LEVEL = KeySpec.of(
    required=["version"],
    optional=[
        "listeners",
        "model_providers",
        "llm_providers",
        "model_aliases",
        "routing_preferences",
        "model_metrics_sources",
        "routing",
        "overrides",
        "state_storage",
        "tracing",
        "auth",
        "ratelimits",
    ],
    ignored=[
        "agents",
        "endpoints",
        "filters",
        "mode",
        "prompt_caching",
        "prompt_guards",
        "prompt_targets",
        "system_prompt",
    ],
)

LISTENER = KeySpec.of(
    required=["type", "name"],
    optional=["port", "address", "timeout", "max_retries", "max_request_bytes"],
    ignored=["router", "agents", "input_filters", "output_filters"],
)
LEGACY_LISTENERS = KeySpec.of(optional=["egress_traffic"], ignored=["ingress_traffic"])
LEGACY_LISTENER = KeySpec.of(
    optional=["address", "port", "message_format", "timeout", "max_request_bytes"]
)

PROVIDER = KeySpec.of(
    required=["model"],
    optional=[
        "name",
        "access_key",
        "base_url",
        "default",
        "passthrough_auth",
        "provider_interface",
        "http_host",
        "headers",
        "routing_preferences",
        "upstream_api",
        "retry_policy",
    ],
)
LEGACY_PROVIDER_ROUTE = KeySpec.of(required=["name", "description"])

ROUTE = KeySpec.of(
    required=["name", "description", "models"], optional=["selection_policy", "examples"]
)
SELECTION_POLICY = KeySpec.of(required=["prefer"])
MODEL_ALIAS = KeySpec.of(required=["target"])

_DIGITALOCEAN_KEYS = ["refresh_interval", "model_aliases", "url"]
_COST_ENDPOINT_KEYS = ["auth", "refresh_interval"]
_PROMETHEUS_KEYS = ["refresh_interval"]
DIGITALOCEAN_SOURCE = KeySpec.of(required=["type"], optional=_DIGITALOCEAN_KEYS)
DIGITALOCEAN_COST_SOURCE = KeySpec.of(required=["type", "provider"], optional=_DIGITALOCEAN_KEYS)
COST_METRICS_SOURCE = KeySpec.of(required=["type", "url"], optional=_COST_ENDPOINT_KEYS)
CUSTOM_COST_SOURCE = KeySpec.of(required=["type", "provider", "url"], optional=_COST_ENDPOINT_KEYS)
PROMETHEUS_SOURCE = KeySpec.of(required=["type", "url", "query"], optional=_PROMETHEUS_KEYS)
PROMETHEUS_LATENCY_SOURCE = KeySpec.of(
    required=["type", "provider", "url", "query"], optional=_PROMETHEUS_KEYS
)
AUTH = KeySpec.of(required=["type", "token"])

# Each spelling of a metrics source: (type, provider) -> what it is and the keys it takes.
# Plano's older spellings have no `provider`; its newer `cost`/`latency` types require one.
# `{type: cost, provider: custom}` is ours: the newer spelling of `cost_metrics`.
METRICS_SOURCE_FORMS: MappingProxyType[tuple[str, str | None], tuple[SourceKind, KeySpec]] = (
    MappingProxyType(
        {
            ("digitalocean_pricing", None): (SourceKind.DIGITALOCEAN, DIGITALOCEAN_SOURCE),
            ("cost", "digitalocean"): (SourceKind.DIGITALOCEAN, DIGITALOCEAN_COST_SOURCE),
            ("cost_metrics", None): (SourceKind.COST_ENDPOINT, COST_METRICS_SOURCE),
            ("cost", "custom"): (SourceKind.COST_ENDPOINT, CUSTOM_COST_SOURCE),
            ("prometheus_metrics", None): (SourceKind.PROMETHEUS, PROMETHEUS_SOURCE),
            ("latency", "prometheus"): (SourceKind.PROMETHEUS, PROMETHEUS_LATENCY_SOURCE),
        }
    )
)
METRICS_SOURCE_TYPES = frozenset(source_type for source_type, _ in METRICS_SOURCE_FORMS)
METRICS_SOURCE_PROVIDERS = MappingProxyType(
    {
        source_type: frozenset(p for t, p in METRICS_SOURCE_FORMS if t == source_type and p)
        for source_type in METRICS_SOURCE_TYPES
    }
)

ROUTING = KeySpec.of(
    optional=["session_ttl_seconds", "session_max_entries", "session_cache", "classifier"],
    ignored=["llm_provider", "model", "routing_budget"],
)
SESSION_CACHE = KeySpec.of(optional=["type", "url", "tenant_header"])
TRACING = KeySpec.of(
    optional=["random_sampling", "opentracing_grpc_endpoint"],
    ignored=["trace_arch_internal", "span_attributes"],
)
STATE_STORAGE = KeySpec.of(required=["type"], optional=["url", "ttl_seconds", "max_entries"])
CLASSIFIER = KeySpec.of(optional=["type", "timeout_ms", "threshold", "triton", "openai"])
TRITON = KeySpec.of(optional=["url", "model"])
OPENAI_CLASSIFIER = KeySpec.of(optional=["base_url", "model", "access_key"])

OVERRIDES = KeySpec.of(
    optional=["llm_routing_model"],
    ignored=[
        "agent_orchestration_model",
        "disable_signals",
        "optimize_context_window",
        "orchestrator_model_context_length",
        "prompt_target_intent_matching_threshold",
        "upstream_connect_timeout",
        "upstream_timeout_ms",
        "upstream_tls_ca_path",
        "use_agent_orchestrator",
    ],
)

# Ours (config/auth.py): who may use the gateway.
CLIENT_AUTH = KeySpec.of(optional=["api_keys", "jwt", "max_failures_per_minute"])
API_KEY = KeySpec.of(required=["name", "key_sha256"], optional=["team", "models", "expires"])
JWT = KeySpec.of(
    required=["issuer"],
    optional=["audiences", "jwks_file", "jwks_uri", "name_claim", "team_claim", "models_claim"],
)

RATELIMIT = KeySpec.of(required=["model", "selector", "limit"])
RATELIMIT_SELECTOR = KeySpec.of(required=["key", "value"])
RATELIMIT_LIMIT = KeySpec.of(required=["tokens", "unit"])

SECTION_SPECS = MappingProxyType(
    {
        "config": TOP_LEVEL,
        "listener": LISTENER,
        "legacy_listeners": LEGACY_LISTENERS,
        "legacy_listener": LEGACY_LISTENER,
        "model_provider": PROVIDER,
        "legacy_provider_route": LEGACY_PROVIDER_ROUTE,
        "route": ROUTE,
        "selection_policy": SELECTION_POLICY,
        "model_alias": MODEL_ALIAS,
        "digitalocean_pricing_source": DIGITALOCEAN_SOURCE,
        "digitalocean_cost_source": DIGITALOCEAN_COST_SOURCE,
        "cost_metrics_source": COST_METRICS_SOURCE,
        "custom_cost_source": CUSTOM_COST_SOURCE,
        "prometheus_metrics_source": PROMETHEUS_SOURCE,
        "prometheus_latency_source": PROMETHEUS_LATENCY_SOURCE,
        "auth": AUTH,
        "routing": ROUTING,
        "session_cache": SESSION_CACHE,
        "classifier": CLASSIFIER,
        "triton": TRITON,
        "openai_classifier": OPENAI_CLASSIFIER,
        "overrides": OVERRIDES,
        "state_storage": STATE_STORAGE,
        "tracing": TRACING,
        "client_auth": CLIENT_AUTH,
        "api_key": API_KEY,
        "jwt": JWT,
        "ratelimit": RATELIMIT,
        "ratelimit_selector": RATELIMIT_SELECTOR,
        "ratelimit_limit": RATELIMIT_LIMIT,
        "retry_policy": RETRY_POLICY,
        "status_code_rule": STATUS_CODE_RULE,
        "timeout_rule": TIMEOUT_RULE,
        "high_latency_rule": HIGH_LATENCY_RULE,
        "backoff": BACKOFF,
        "retry_after_handling": RETRY_AFTER_HANDLING,
    }
)
