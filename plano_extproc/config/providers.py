"""The `model_providers` section (or its legacy name `llm_providers`) and `model_aliases`.

A provider's `model` is ``<provider>/<model_id>``; wildcard models (``openai/*``) are not
supported. Two providers may share a bare model id, but references to it must then use the full
``provider/model``. Without a `base_url`, a provider gets its well-known endpoint, if it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import ModelProvider
from plano_extproc.config.reader import Issues, Section, first_claim, join, open_section
from plano_extproc.config.retry_policy import RETRY_POLICY, read_retry_policy
from plano_extproc.config.routes import LegacyRoute, read_legacy_routes
from plano_extproc.config.spec import (
    MODEL_ALIAS,
    PROVIDER,
    ProviderInterface,
    UpstreamApi,
)
from plano_extproc.providers.registry import ProviderApi, family_of


@dataclass(frozen=True, slots=True)
class Providers:
    """The declared providers, and the routes some of them declare the v0.3.0 way."""

    providers: tuple[ModelProvider, ...]
    legacy_routes: tuple[LegacyRoute, ...]


@dataclass(frozen=True, slots=True)
class _ParsedProvider:
    provider: ModelProvider
    location: str
    legacy_routes: list[LegacyRoute]
    # Read once every provider is known: its fallback models must be declared ones.
    retry_policy: Section | None


def read_providers(top: Section, env: Environment) -> Providers:
    key = _providers_key(top)
    parsed = [
        entry
        for location, item in top.items(key)
        if (entry := _provider(item, location, top.issues, env)) is not None
    ]
    if top.data.get(key) in (None, []):
        top.issues.error(key, "at least one model provider is required")
    _check_clashes(parsed, top.issues)
    declared = frozenset(entry.provider.name for entry in parsed)
    return Providers(
        providers=tuple(_with_retry_policy(entry, declared) for entry in parsed),
        legacy_routes=tuple(route for entry in parsed for route in entry.legacy_routes),
    )


def _providers_key(top: Section) -> str:
    """`model_providers`, unless the file uses only its legacy name `llm_providers`."""
    if not top.has("llm_providers"):
        return "model_providers"
    if top.has("model_providers"):
        top.issues.error(
            "llm_providers", "use either model_providers or its legacy name llm_providers, not both"
        )
        return "model_providers"
    top.issues.warn("llm_providers", "deprecated name; use model_providers")
    return "llm_providers"


def _provider(
    item: object, location: str, issues: Issues, env: Environment
) -> _ParsedProvider | None:
    section = open_section(item, location, PROVIDER, issues)
    model = section.text("model") if section else None
    if section is None or model is None:
        return None
    parts = _model_parts(section, model)
    if parts is None:
        return None
    provider = _model_provider(section, model, *parts, env)
    if provider.native_messages and provider.api is not ProviderApi.ANTHROPIC:
        issues.error(
            section.where("upstream_api"),
            "'messages' is only for Anthropic providers (anthropic/*, or provider_interface "
            "anthropic or claude)",
        )
    return _ParsedProvider(
        provider,
        location,
        read_legacy_routes(section, model),
        section.section("retry_policy", RETRY_POLICY),
    )


def _model_parts(section: Section, model: str) -> tuple[str, str] | None:
    """(vendor, model id) of a ``<provider>/<model_id>`` model; None after reporting."""
    vendor, _, model_id = model.partition("/")
    if not vendor or not model_id:
        section.issues.error(
            section.where("model"), f"'{model}' must have the form <provider>/<model_id>"
        )
        return None
    if model_id == "*" or model_id.endswith("/*"):
        section.issues.error(section.where("model"), "wildcard models are not supported")
        return None
    return vendor, model_id


def _model_provider(
    section: Section, model: str, vendor: str, model_id: str, env: Environment
) -> ModelProvider:
    passthrough = section.flag("passthrough_auth")
    access_key, key_variable = env.secret(section, "access_key", needed=not passthrough)
    if passthrough and section.has("access_key"):
        section.issues.warn(section.where("access_key"), "ignored: passthrough_auth is true")
    interface = section.choice("provider_interface", ProviderInterface, None)
    upstream_api = section.choice("upstream_api", UpstreamApi, None)
    return ModelProvider(
        name=model,
        provider=vendor,
        model_id=model_id,
        access_key=access_key,
        base_url=_base_url(section, vendor, env),
        default=section.flag("default"),
        passthrough_auth=passthrough,
        provider_interface=interface.value if interface else None,
        label=section.text("name"),
        http_host=section.text("http_host"),
        headers=MappingProxyType(section.string_map("headers")),
        access_key_env=key_variable,
        native_messages=upstream_api is UpstreamApi.MESSAGES,
    )


def _base_url(section: Section, vendor: str, env: Environment) -> str | None:
    if not section.has("base_url"):
        endpoint = family_of(vendor).endpoint
        if endpoint is None:
            section.issues.error(
                section.where("base_url"),
                f"required for provider '{vendor}', which has no well-known endpoint",
            )
        return endpoint
    url = env.http_url(section, "base_url")
    return url.rstrip("/") if url else None


def _check_clashes(parsed: list[_ParsedProvider], issues: Issues) -> None:
    models = _check_models(parsed, issues)
    _check_labels(parsed, models, issues)
    _check_one_default(parsed, issues)


def _check_models(parsed: list[_ParsedProvider], issues: Issues) -> dict[str, str]:
    """Reports models declared twice; returns where each model is first declared."""
    models: dict[str, str] = {}
    for entry in parsed:
        name = entry.provider.name
        if earlier := first_claim(models, name, entry.location):
            issues.error(
                join(entry.location, "model"), f"'{name}' is already declared by {earlier}"
            )
    return models


def _check_labels(parsed: list[_ParsedProvider], models: dict[str, str], issues: Issues) -> None:
    """A provider's `name` may be neither another's `name` nor another's model."""
    labels: dict[str, str] = {}
    for entry in parsed:
        label = entry.provider.label
        if label and label != entry.provider.name:
            earlier = first_claim(labels, label, entry.location) or models.get(label)
            if earlier:
                issues.error(
                    join(entry.location, "name"), f"'{label}' is already used by {earlier}"
                )


def _check_one_default(parsed: list[_ParsedProvider], issues: Issues) -> None:
    defaults = [entry.location for entry in parsed if entry.provider.default]
    for location in defaults[1:]:
        issues.error(
            join(location, "default"),
            f"only one provider may be the default; {defaults[0]} already is",
        )


def _with_retry_policy(entry: _ParsedProvider, declared: frozenset[str]) -> ModelProvider:
    if entry.retry_policy is None:
        return entry.provider
    return replace(entry.provider, retry_policy=read_retry_policy(entry.retry_policy, declared))


def resolve_model(reference: str, providers: tuple[ModelProvider, ...]) -> ModelProvider | str:
    """The provider `reference` names, or why none does.

    A reference is a full ``provider/model`` string, an entry's `name`, or a bare model id
    that exactly one provider serves.
    """
    for provider in providers:
        if reference in (provider.name, provider.label):
            return provider
    matches = [provider for provider in providers if provider.model_id == reference]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(provider.name for provider in matches)
        return f"'{reference}' matches several providers ({names}); use the full provider/model"
    return f"'{reference}' is not declared in model_providers"


def read_aliases(top: Section, providers: tuple[ModelProvider, ...]) -> dict[str, str]:
    """`model_aliases`: alias -> the name of the provider its target resolves to."""
    aliases: dict[str, str] = {}
    declared = {provider.name for provider in providers}
    for location, alias, item in top.entries("model_aliases"):
        section = open_section(item, location, MODEL_ALIAS, top.issues)
        target = section.text("target") if section else None
        if alias in declared:
            top.issues.error(location, f"'{alias}' is a declared model; an alias may not hide it")
        if section is None or target is None:
            continue
        resolved = resolve_model(target, providers)
        if isinstance(resolved, str):
            top.issues.error(section.where("target"), resolved)
        else:
            aliases[alias] = resolved.name
    return aliases
