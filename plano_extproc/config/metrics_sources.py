"""The `model_metrics_sources` section: at most one cost source and one latency source.

Each source has two spellings, Plano's older one without a `provider` and its newer `cost` or
`latency` type with one; `{type: cost, provider: custom, url, auth}` is ours, the newer
spelling of `cost_metrics` (see `spec.METRICS_SOURCE_FORMS`).
"""

from __future__ import annotations

from types import MappingProxyType

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import (
    CostEndpointSource,
    DigitalOceanPricingSource,
    MetricsSource,
    ModelProvider,
    PrometheusLatencySource,
    default_of,
)
from plano_extproc.config.reader import (
    Issues,
    KeySpec,
    Section,
    first_claim,
    join,
    kind_of,
    open_section,
    unknown_value_message,
)
from plano_extproc.config.spec import (
    AUTH,
    METRICS_SOURCE_FORMS,
    METRICS_SOURCE_PROVIDERS,
    METRICS_SOURCE_TYPES,
    AuthType,
    SourceKind,
)


def read_metrics_sources(
    top: Section, providers: tuple[ModelProvider, ...], env: Environment
) -> tuple[MetricsSource, ...]:
    declared = frozenset(provider.name for provider in providers)
    sources: list[MetricsSource] = []
    roles: dict[str, str] = {}
    for location, item in top.items("model_metrics_sources"):
        source = _source(item, location, declared, top.issues, env)
        if source is None:
            continue
        role = "latency" if isinstance(source, PrometheusLatencySource) else "cost"
        if earlier := first_claim(roles, role, location):
            top.issues.error(
                location, f"only one {role} source is allowed; {earlier} is already one"
            )
        else:
            sources.append(source)
    return tuple(sources)


def _source(
    item: object, location: str, declared: frozenset[str], issues: Issues, env: Environment
) -> MetricsSource | None:
    form = _form(item, location, issues)
    if form is None:
        return None
    kind, spec = form
    section = open_section(item, location, spec, issues)
    assert section is not None  # the form was read from a mapping
    if kind is SourceKind.DIGITALOCEAN:
        return _digitalocean_source(section, declared, env)
    if kind is SourceKind.COST_ENDPOINT:
        return _cost_endpoint_source(section, env)
    return _prometheus_source(section, env)


def _form(item: object, location: str, issues: Issues) -> tuple[SourceKind, KeySpec] | None:
    """Which spelling `item` uses, judged by its `type` (and `provider`, where needed)."""
    if not isinstance(item, dict):
        issues.error(location, f"must be a mapping, not {kind_of(item)}")
        return None
    section = Section(item, location, issues)
    source_type = section.required_text("type")
    if source_type is None:
        return None
    if source_type not in METRICS_SOURCE_TYPES:
        issues.error(
            section.where("type"), unknown_value_message(source_type, METRICS_SOURCE_TYPES)
        )
        return None
    allowed = METRICS_SOURCE_PROVIDERS[source_type]
    if not allowed:
        return METRICS_SOURCE_FORMS[(source_type, None)]
    provider = section.required_text("provider")
    if provider is None:
        return None
    if provider not in allowed:
        issues.error(section.where("provider"), unknown_value_message(provider, allowed))
        return None
    return METRICS_SOURCE_FORMS[(source_type, provider)]


def _digitalocean_source(
    section: Section, declared: frozenset[str], env: Environment
) -> DigitalOceanPricingSource:
    aliases = section.string_map("model_aliases")
    for catalog_key, model in aliases.items():
        if model not in declared:
            section.issues.warn(
                join(section.where("model_aliases"), catalog_key),
                f"'{model}' is not declared in model_providers; this alias has no effect",
            )
    defaults = DigitalOceanPricingSource()
    return DigitalOceanPricingSource(
        refresh_interval=section.duration("refresh_interval", defaults.refresh_interval),
        url=env.http_url(section, "url", allow_query=True) or defaults.url,
        model_aliases=MappingProxyType(aliases),
    )


def _cost_endpoint_source(section: Section, env: Environment) -> CostEndpointSource:
    token = None
    auth = section.section("auth", AUTH)
    if auth is not None:
        auth.choice("type", AuthType, AuthType.BEARER)
        token, _ = env.secret(auth, "token")
    return CostEndpointSource(
        url=env.http_url(section, "url", allow_query=True) or "",
        token=token,
        refresh_interval=section.duration(
            "refresh_interval", default_of(CostEndpointSource, "refresh_interval")
        ),
    )


def _prometheus_source(section: Section, env: Environment) -> PrometheusLatencySource:
    return PrometheusLatencySource(
        url=env.http_url(section, "url") or "",
        query=section.text("query") or "",
        refresh_interval=section.duration(
            "refresh_interval", default_of(PrometheusLatencySource, "refresh_interval")
        ),
    )
