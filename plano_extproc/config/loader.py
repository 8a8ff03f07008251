"""Loads a Plano v0.4.0 configuration file into the typed `Config`.

Every problem of a file is collected and raised together as one `ConfigError`; nothing stops
at the first. Notes that do not prevent loading end up in `Config.warnings`.

Policies, where the format leaves room for choice:

* Keys from the environment: see `environment.py`.
* ``overrides.llm_routing_model`` names a declared provider (its full ``provider/model``, its
  `name`, or a bare model id matching exactly one provider). Unless ``routing.classifier.type``
  is set explicitly, it selects the ``openai`` classifier against that provider's base URL,
  model id and key. The provider stays an ordinary, routable provider, as in Plano.
* Plano sections this service does not implement (tracing, prompt_targets, agents, ...) and
  Plano keys inside known sections that it ignores (``routing.routing_budget``, most
  ``overrides``) are accepted with a warning; their contents are not validated. Any other key
  is an error.
* Per-provider ``routing_preferences`` (the v0.3.0 style) become top-level routes whose model
  is that provider; one route name on several providers gives one route with all of them, in
  provider order. Each provider using that style gets a deprecation warning.

Differences from Plano: wildcard models (``openai/*``) are not supported; two providers may
share a bare model id (references to it must then use ``provider/model``); ``base_url`` is
filled in from a small table of well-known endpoints; versions newer than v0.4.0 load with a
warning; ``{type: cost, provider: custom, url, auth}`` is accepted as the newer spelling of
``cost_metrics``; ``routing.classifier`` and route ``examples`` are extensions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from plano_extproc.config.environment import Environment
from plano_extproc.config.errors import ConfigError, ConfigIssue
from plano_extproc.config.listeners import read_listeners
from plano_extproc.config.model import (
    ClassifierSettings,
    ClassifierType,
    Config,
    CostEndpointSource,
    DigitalOceanPricingSource,
    MetricsSource,
    ModelProvider,
    OpenAIClassifierSettings,
    PrometheusLatencySource,
    ProviderApi,
    RoutingSettings,
    SessionCacheSettings,
    SessionCacheType,
    StateStorageSettings,
    StateStorageType,
    TracingSettings,
    TritonSettings,
    default_of,
)
from plano_extproc.config.providers import read_aliases, read_providers, resolve_model
from plano_extproc.config.reader import (
    Issues,
    KeySpec,
    Section,
    first_claim,
    join,
    kind_of,
    open_section,
    parse_yaml,
    unknown_value_message,
)
from plano_extproc.config.routes import (
    migrated_routes,
    read_routes,
)
from plano_extproc.config.spec import (
    AUTH,
    CLASSIFIER,
    FORMAT_VERSION,
    METRICS_SOURCE_FORMS,
    METRICS_SOURCE_PROVIDERS,
    METRICS_SOURCE_TYPES,
    OPENAI_CLASSIFIER,
    OVERRIDES,
    ROUTING,
    SESSION_CACHE,
    STATE_STORAGE,
    TOP_LEVEL,
    TRACING,
    TRITON,
    AuthType,
    SourceKind,
)
from plano_extproc.config.values import grpc_target_problem, parse_version


def load_config(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    require_keys: bool = True,
) -> Config:
    """Reads and validates the configuration file at `path`; raises `ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError([ConfigIssue("", f"cannot read {path}: {reason}")]) from error
    return load_config_text(text, os.environ if env is None else env, require_keys=require_keys)


def load_config_text(
    text: str, env: Mapping[str, str] = os.environ, *, require_keys: bool = True
) -> Config:
    """Validates configuration YAML held in a string; raises `ConfigError`."""
    issues = Issues()
    document = parse_yaml(text, issues)
    config = _Loader(Environment(env, require_keys), issues).load(document)
    if config is None or issues.errors:
        raise ConfigError(issues.errors)
    return config


class _Loader:
    """Builds a `Config` from a parsed document, reporting into `issues` as it goes."""

    def __init__(self, env: Environment, issues: Issues) -> None:
        self.env = env
        self.issues = issues

    def load(self, document: object) -> Config | None:
        if document is None:
            self.issues.error("", "the configuration is empty")
            return None
        if not isinstance(document, dict):
            self.issues.error("", f"the configuration must be a mapping, not {kind_of(document)}")
            return None
        top = open_section(document, "", TOP_LEVEL, self.issues)
        assert top is not None  # a mapping always opens
        version_text, version = self._version(top)
        listeners = read_listeners(top)
        parsed = read_providers(top, self.env)
        providers = parsed.providers
        sources = self._metrics_sources(top, providers)
        routes = read_routes(top, version_text, version, providers, sources)
        routes += migrated_routes(parsed.legacy_routes, routes, self.issues)
        aliases = read_aliases(top, providers)
        routing = self._routing(top, self._router_override(top, providers))
        state_storage = self._state_storage(top.section("state_storage", STATE_STORAGE))
        tracing = self._tracing(top.section("tracing", TRACING))
        return Config(
            version=version_text,
            providers=providers,
            routes=tuple(routes),
            aliases=MappingProxyType(aliases),
            metrics_sources=sources,
            routing=routing,
            listeners=listeners,
            state_storage=state_storage,
            tracing=tracing,
            warnings=tuple(str(warning) for warning in self.issues.warnings),
        )

    # -- version -----------------------------------------------------------

    def _version(self, top: Section) -> tuple[str, tuple[int, int, int] | None]:
        text = top.text("version")
        if text is None:
            return "", None
        version = parse_version(text)
        if version is None:
            self.issues.error(top.where("version"), f"'{text}' is not a version such as v0.4.0")
        elif version > FORMAT_VERSION:
            self.issues.warn(
                top.where("version"), f"{text} is newer than v0.4.0, the format implemented here"
            )
        return text, version

    # -- metrics sources -----------------------------------------------------------------

    def _metrics_sources(
        self, top: Section, providers: tuple[ModelProvider, ...]
    ) -> tuple[MetricsSource, ...]:
        sources: list[MetricsSource] = []
        roles: dict[str, str] = {}
        for location, item in top.items("model_metrics_sources"):
            source = self._metrics_source(item, location, providers)
            if source is None:
                continue
            role = "latency" if isinstance(source, PrometheusLatencySource) else "cost"
            if earlier := first_claim(roles, role, location):
                self.issues.error(
                    location, f"only one {role} source is allowed; {earlier} is already one"
                )
            else:
                sources.append(source)
        return tuple(sources)

    def _metrics_source(
        self, item: object, location: str, providers: tuple[ModelProvider, ...]
    ) -> MetricsSource | None:
        form = self._metrics_source_form(item, location)
        if form is None:
            return None
        kind, spec = form
        section = open_section(item, location, spec, self.issues)
        assert section is not None  # the form was read from a mapping
        if kind is SourceKind.DIGITALOCEAN:
            return self._digitalocean_source(section, providers)
        if kind is SourceKind.COST_ENDPOINT:
            return self._cost_endpoint_source(section)
        return PrometheusLatencySource(
            url=self.env.http_url(section, "url") or "",
            query=section.text("query") or "",
            refresh_interval=section.duration(
                "refresh_interval", default_of(PrometheusLatencySource, "refresh_interval")
            ),
        )

    def _metrics_source_form(
        self, item: object, location: str
    ) -> tuple[SourceKind, KeySpec] | None:
        """Which spelling `item` uses, judged by its `type` (and `provider`, where needed)."""
        if not isinstance(item, dict):
            self.issues.error(location, f"must be a mapping, not {kind_of(item)}")
            return None
        section = Section(item, location, self.issues)
        source_type = section.required_text("type")
        if source_type is None:
            return None
        if source_type not in METRICS_SOURCE_TYPES:
            self.issues.error(
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
            self.issues.error(section.where("provider"), unknown_value_message(provider, allowed))
            return None
        return METRICS_SOURCE_FORMS[(source_type, provider)]

    def _digitalocean_source(
        self, section: Section, providers: tuple[ModelProvider, ...]
    ) -> DigitalOceanPricingSource:
        declared = {provider.name for provider in providers}
        aliases = section.string_map("model_aliases")
        for catalog_key, model in aliases.items():
            if model not in declared:
                self.issues.warn(
                    join(section.where("model_aliases"), catalog_key),
                    f"'{model}' is not declared in model_providers; this alias has no effect",
                )
        defaults = DigitalOceanPricingSource()
        return DigitalOceanPricingSource(
            refresh_interval=section.duration("refresh_interval", defaults.refresh_interval),
            url=self.env.http_url(section, "url", allow_query=True) or defaults.url,
            model_aliases=MappingProxyType(aliases),
        )

    def _cost_endpoint_source(self, section: Section) -> CostEndpointSource:
        token = None
        auth = section.section("auth", AUTH)
        if auth is not None:
            auth.choice("type", AuthType, AuthType.BEARER)
            token, _ = self.env.secret(auth, "token")
        return CostEndpointSource(
            url=self.env.http_url(section, "url", allow_query=True) or "",
            token=token,
            refresh_interval=section.duration(
                "refresh_interval", default_of(CostEndpointSource, "refresh_interval")
            ),
        )

    # -- routing settings ----------------------------------------------------------------

    def _router_override(
        self, top: Section, providers: tuple[ModelProvider, ...]
    ) -> tuple[str, OpenAIClassifierSettings] | None:
        """(its location, the classifier it asks for) for ``overrides.llm_routing_model``."""
        overrides = top.section("overrides", OVERRIDES)
        reference = overrides.text("llm_routing_model") if overrides else None
        if overrides is None or reference is None:
            return None
        location = overrides.where("llm_routing_model")
        resolved = resolve_model(reference, providers)
        if isinstance(resolved, str):
            self.issues.error(location, resolved)
            return None
        if resolved.api is ProviderApi.ANTHROPIC:
            self.issues.error(
                location,
                f"'{resolved.name}' speaks the Anthropic Messages API; "
                "the routing model needs an OpenAI-compatible one",
            )
            return None
        settings = OpenAIClassifierSettings(
            base_url=resolved.base_url or "",
            model=resolved.model_id,
            access_key=resolved.access_key,
        )
        return location, settings

    def _routing(
        self, top: Section, router: tuple[str, OpenAIClassifierSettings] | None
    ) -> RoutingSettings:
        section = top.section("routing", ROUTING)
        defaults = RoutingSettings()
        if section is None:
            return RoutingSettings(classifier=self._classifier(None, router))
        return RoutingSettings(
            session_ttl_seconds=section.integer(
                "session_ttl_seconds", defaults.session_ttl_seconds, minimum=1
            ),
            session_max_entries=section.integer(
                "session_max_entries", defaults.session_max_entries, minimum=1
            ),
            session_cache=self._session_cache(section.section("session_cache", SESSION_CACHE)),
            classifier=self._classifier(section.section("classifier", CLASSIFIER), router),
        )

    def _session_cache(self, section: Section | None) -> SessionCacheSettings:
        if section is None:
            return SessionCacheSettings()
        cache_type = section.choice("type", SessionCacheType, SessionCacheType.MEMORY)
        url = self.env.redis_url(section, required=cache_type is SessionCacheType.REDIS)
        return SessionCacheSettings(
            type=cache_type or SessionCacheType.MEMORY,
            url=url,
            tenant_header=section.text("tenant_header"),
        )

    def _state_storage(self, section: Section | None) -> StateStorageSettings | None:
        if section is None:
            return None
        defaults = StateStorageSettings()
        storage_type = section.choice("type", StateStorageType, defaults.type) or defaults.type
        url = self.env.redis_url(section, required=storage_type is StateStorageType.REDIS)
        return StateStorageSettings(
            type=storage_type,
            url=url,
            ttl_seconds=section.integer("ttl_seconds", defaults.ttl_seconds, minimum=1),
            max_entries=section.integer("max_entries", defaults.max_entries, minimum=1),
        )

    def _tracing(self, section: Section | None) -> TracingSettings | None:
        if section is None:
            return None
        defaults = TracingSettings()
        endpoint = self.env.http_url(section, "opentracing_grpc_endpoint") or defaults.endpoint
        percent = section.number("random_sampling")
        if percent is not None and not 0 <= percent <= 100:
            self.issues.error(section.where("random_sampling"), "must be a percentage, 0 to 100")
            percent = None
        if percent == 0:
            return None
        sampling = defaults.sampling_percent if percent is None else percent
        return TracingSettings(endpoint=endpoint, sampling_percent=sampling)

    def _classifier(
        self, section: Section | None, router: tuple[str, OpenAIClassifierSettings] | None
    ) -> ClassifierSettings:
        defaults = ClassifierSettings()
        if section is None:
            section = Section({}, "routing.classifier", self.issues)
        classifier_type = section.choice("type", ClassifierType, defaults.type) or defaults.type
        openai = self._openai_classifier(section.section("openai", OPENAI_CLASSIFIER))
        if router is not None:
            location, router_settings = router
            if section.has("type"):
                self.issues.warn(location, "ignored: routing.classifier.type is set")
            else:
                classifier_type, openai = ClassifierType.OPENAI, router_settings
        if classifier_type is ClassifierType.OPENAI and openai is None:
            self.issues.error(
                join(section.where("openai"), "base_url"),
                "required when routing.classifier.type is openai",
            )
        triton = self._triton(section.section("triton", TRITON))
        if classifier_type is ClassifierType.TRITON and triton is None:
            triton = TritonSettings()
        return ClassifierSettings(
            type=classifier_type,
            timeout_ms=section.integer("timeout_ms", defaults.timeout_ms, minimum=1),
            threshold=section.number("threshold"),
            triton=triton,
            openai=openai,
        )

    def _openai_classifier(self, section: Section | None) -> OpenAIClassifierSettings | None:
        if section is None:
            return None
        base_url = self.env.http_url(section, "base_url")
        access_key, _ = self.env.secret(section, "access_key")
        model = section.text("model") or default_of(OpenAIClassifierSettings, "model")
        if base_url is None:
            return None
        return OpenAIClassifierSettings(
            base_url=base_url.rstrip("/"), model=model, access_key=access_key
        )

    def _triton(self, section: Section | None) -> TritonSettings | None:
        if section is None:
            return None
        defaults = TritonSettings()
        url = self.env.expanded(section, "url")
        if url is not None and (problem := grpc_target_problem(url)):
            self.issues.error(section.where("url"), problem)
        return TritonSettings(
            url=url or defaults.url, model=section.text("model") or defaults.model
        )
