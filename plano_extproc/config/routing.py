"""The `routing` section (session settings, session cache, classifier) and the router override.

``overrides.llm_routing_model`` names a declared provider (its full ``provider/model``, its
`name`, or a bare model id matching exactly one provider). Unless ``routing.classifier.type``
is set explicitly, it selects the ``openai`` classifier against that provider's base URL, model
id and key. The provider stays an ordinary, routable provider, as in Plano.
"""

from __future__ import annotations

from dataclasses import dataclass

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import (
    ClassifierSettings,
    ClassifierType,
    ModelProvider,
    OpenAIClassifierSettings,
    RoutingSettings,
    SessionCacheSettings,
    SessionCacheType,
    TritonSettings,
    default_of,
)
from plano_extproc.config.providers import resolve_model
from plano_extproc.config.reader import Issues, Section, join
from plano_extproc.config.spec import (
    CLASSIFIER,
    OPENAI_CLASSIFIER,
    OVERRIDES,
    ROUTING,
    SESSION_CACHE,
    TRITON,
)
from plano_extproc.config.values import grpc_target_problem
from plano_extproc.providers.registry import ProviderApi


@dataclass(frozen=True, slots=True)
class _RouterOverride:
    """``overrides.llm_routing_model``: where it is set, and the classifier it asks for."""

    location: str
    classifier: OpenAIClassifierSettings


def read_routing(
    top: Section, providers: tuple[ModelProvider, ...], env: Environment
) -> RoutingSettings:
    router = _router_override(top, providers)
    section = top.section("routing", ROUTING)
    if section is None:
        return RoutingSettings(classifier=_classifier(None, top.issues, router, env))
    defaults = RoutingSettings()
    return RoutingSettings(
        session_ttl_seconds=section.integer(
            "session_ttl_seconds", defaults.session_ttl_seconds, minimum=1
        ),
        session_max_entries=section.integer(
            "session_max_entries", defaults.session_max_entries, minimum=1
        ),
        session_cache=_session_cache(section.section("session_cache", SESSION_CACHE), env),
        classifier=_classifier(section.section("classifier", CLASSIFIER), top.issues, router, env),
    )


def _router_override(top: Section, providers: tuple[ModelProvider, ...]) -> _RouterOverride | None:
    overrides = top.section("overrides", OVERRIDES)
    reference = overrides.text("llm_routing_model") if overrides else None
    if overrides is None or reference is None:
        return None
    location = overrides.where("llm_routing_model")
    resolved = resolve_model(reference, providers)
    if isinstance(resolved, str):
        top.issues.error(location, resolved)
        return None
    if resolved.api is ProviderApi.ANTHROPIC:
        top.issues.error(
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
    return _RouterOverride(location, settings)


def _session_cache(section: Section | None, env: Environment) -> SessionCacheSettings:
    if section is None:
        return SessionCacheSettings()
    cache_type = section.choice("type", SessionCacheType, SessionCacheType.MEMORY)
    url = env.redis_url(section, required=cache_type is SessionCacheType.REDIS)
    return SessionCacheSettings(
        type=cache_type or SessionCacheType.MEMORY,
        url=url,
        tenant_header=section.text("tenant_header"),
    )


def _classifier(
    section: Section | None,
    issues: Issues,
    router: _RouterOverride | None,
    env: Environment,
) -> ClassifierSettings:
    # Read even when absent: the router override and the openai settings' check still apply.
    if section is None:
        section = Section({}, "routing.classifier", issues)
    classifier_type, openai = _classifier_type(section, router, env)
    triton = _triton(section.section("triton", TRITON), env)
    if classifier_type is ClassifierType.TRITON and triton is None:
        triton = TritonSettings()
    defaults = ClassifierSettings()
    return ClassifierSettings(
        type=classifier_type,
        timeout_ms=section.integer("timeout_ms", defaults.timeout_ms, minimum=1),
        threshold=section.number("threshold"),
        triton=triton,
        openai=openai,
    )


def _classifier_type(
    section: Section, router: _RouterOverride | None, env: Environment
) -> tuple[ClassifierType, OpenAIClassifierSettings | None]:
    """The classifier's type and openai settings, as set or as the router override asks."""
    default = ClassifierSettings().type
    classifier_type = section.choice("type", ClassifierType, default) or default
    openai = _openai_classifier(section.section("openai", OPENAI_CLASSIFIER), env)
    if router is not None:
        if section.has("type"):
            section.issues.warn(router.location, "ignored: routing.classifier.type is set")
        else:
            classifier_type, openai = ClassifierType.OPENAI, router.classifier
    if classifier_type is ClassifierType.OPENAI and openai is None:
        section.issues.error(
            join(section.where("openai"), "base_url"),
            "required when routing.classifier.type is openai",
        )
    return classifier_type, openai


def _openai_classifier(
    section: Section | None, env: Environment
) -> OpenAIClassifierSettings | None:
    if section is None:
        return None
    base_url = env.http_url(section, "base_url")
    access_key, _ = env.secret(section, "access_key")
    model = section.text("model") or default_of(OpenAIClassifierSettings, "model")
    if base_url is None:
        return None
    return OpenAIClassifierSettings(
        base_url=base_url.rstrip("/"), model=model, access_key=access_key
    )


def _triton(section: Section | None, env: Environment) -> TritonSettings | None:
    if section is None:
        return None
    defaults = TritonSettings()
    url = env.expanded(section, "url")
    if url is not None and (problem := grpc_target_problem(url)):
        section.issues.error(section.where("url"), problem)
    return TritonSettings(url=url or defaults.url, model=section.text("model") or defaults.model)
