"""The `model_providers` section (or its legacy name `llm_providers`) and `model_aliases`.

A provider's `model` is ``<provider>/<model_id>``, or ``<provider>/*`` for any model under that
prefix (expanded into the provider's built-in model list, `providers/catalog.py`). Two providers
may share a bare model id, but references to it must then use the full ``provider/model``.

The prefix names one of Plano's providers (`providers/registry.py`); any other prefix is a server
that needs `base_url` and `provider_interface`, as Plano validates it. Without a `base_url`, a
known provider gets its well-known endpoint; those without one (Azure, Bedrock, Ollama, ...) need
it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import WILDCARD, ModelProvider, ProviderIndex
from plano_extproc.config.reader import Issues, Section, first_claim, join, open_section
from plano_extproc.config.retry_policy import RETRY_POLICY, read_retry_policy
from plano_extproc.config.routes import LegacyRoute, read_legacy_routes
from plano_extproc.config.spec import (
    MODEL_ALIAS,
    PROVIDER,
    ProviderInterface,
    UpstreamApi,
)
from plano_extproc.providers.catalog import catalog_models
from plano_extproc.providers.registry import FAMILIES, ProviderApi, known_family


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
    providers = [_with_retry_policy(entry, declared) for entry in parsed]
    return Providers(
        providers=tuple(_expanded(providers)),
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
    if provider.is_wildcard and provider.default:
        issues.error(section.where("default"), f"'{model}' is a wildcard; it cannot be the default")
    return _ParsedProvider(
        provider,
        location,
        read_legacy_routes(section, model),
        section.section("retry_policy", RETRY_POLICY),
    )


def _model_parts(section: Section, model: str) -> tuple[str, str] | None:
    """(prefix, model id) of a ``<provider>/<model_id>`` model; None after reporting."""
    vendor, _, model_id = model.partition("/")
    if not vendor or not model_id:
        section.issues.error(
            section.where("model"),
            f"'{model}' must have the form <provider>/<model_id>, or <provider>/* for every "
            "model of a provider",
        )
        return None
    if not _known_or_described(section, vendor):
        return None
    return vendor, model_id


def _known_or_described(section: Section, vendor: str) -> bool:
    """A prefix must be one of Plano's providers, without provider_interface (the prefix says
    it), or a server described by base_url and provider_interface."""
    interface = section.data.get("provider_interface")
    if known_family(vendor) is not None:
        if interface is not None:
            section.issues.error(
                section.where("provider_interface"),
                f"'{vendor}' is one of Plano's providers, so its model prefix says how to call "
                "it; leave provider_interface out (it is for servers Plano does not know)",
            )
            return False
        return True
    if interface is None or not section.has("base_url"):
        missing = " and ".join(
            key for key in ("base_url", "provider_interface") if not section.has(key)
        )
        section.issues.error(
            section.where("model"),
            f"'{vendor}' is not a known provider ({', '.join(_PREFIXES)}); a server "
            f"Plano does not know needs base_url and provider_interface (missing: {missing})",
        )
        return False
    return True


_PREFIXES = tuple(sorted(FAMILIES))


def _model_provider(
    section: Section, model: str, vendor: str, model_id: str, env: Environment
) -> ModelProvider:
    interface = section.choice("provider_interface", ProviderInterface, None)
    family = known_family(interface.value if interface else vendor)
    # A provider with a default credential style (ChatGPT: the client's own sign-in) forwards
    # the client's credentials when the config gives no key.
    passthrough = section.flag("passthrough_auth") or (
        family is not None and family.passthrough_without_key and not section.has("access_key")
    )
    access_key, key_variable = env.secret(section, "access_key", needed=not passthrough)
    if passthrough and section.has("access_key"):
        section.issues.warn(section.where("access_key"), "ignored: passthrough_auth is true")
    upstream_api = section.choice("upstream_api", UpstreamApi, None)
    default_headers = family.default_headers if family is not None else ()
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
        headers=MappingProxyType({**dict(default_headers), **section.string_map("headers")}),
        access_key_env=key_variable,
        native_messages=upstream_api is UpstreamApi.MESSAGES,
    )


def _base_url(section: Section, vendor: str, env: Environment) -> str | None:
    if section.has("base_url"):
        url = env.http_url(section, "base_url")
        return url.rstrip("/") if url else None
    family = known_family(vendor)
    if family is not None and family.endpoint is None:
        section.issues.error(
            section.where("base_url"),
            f"required for provider '{vendor}', which has no well-known endpoint",
        )
    return family.endpoint if family is not None else None


def _expanded(providers: list[ModelProvider]) -> list[ModelProvider]:
    """Each `provider/*` entry followed by the models of its built-in list that no entry
    declares itself (those keep their own settings), as Plano expands wildcards. A server
    Plano does not know has no list, whatever its provider_interface."""
    declared = {provider.name for provider in providers}
    result: list[ModelProvider] = []
    for provider in providers:
        result.append(provider)
        if provider.model_id != WILDCARD:
            continue
        family = known_family(provider.provider)
        for model_id in catalog_models(family.catalog if family is not None else None):
            name = provider.wildcard_prefix + model_id
            if name not in declared:
                result.append(provider.serving(name))
    return result


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

    A reference is a full ``provider/model`` string (declared, or under a wildcard entry's
    prefix), an entry's `name`, or a bare model id that exactly one provider serves.
    """
    for provider in providers:
        if reference in (provider.name, provider.label):
            if provider.is_wildcard:
                return f"'{reference}' is a wildcard; name one of its models"
            return provider
    matches = [p for p in providers if p.model_id == reference and not p.is_wildcard]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(provider.name for provider in matches)
        return f"'{reference}' matches several providers ({names}); use the full provider/model"
    wildcard = ProviderIndex(providers).wildcard_for(reference)
    if wildcard is not None:
        return wildcard.serving(reference)
    return f"'{reference}' is not declared in model_providers"


class ModelNames:
    """Resolves a section's reference to a model once aliases are read: a provider, an alias
    (to its target), or a wildcard entry (`openai/*`), which stands for each model it serves."""

    def __init__(self, providers: tuple[ModelProvider, ...], aliases: dict[str, str]) -> None:
        self._providers = providers
        self._aliases = aliases
        self._wildcards = {p.name for p in providers if p.is_wildcard}

    def resolve(self, reference: str) -> str | None:
        """The provider's (or wildcard entry's) name; None when nothing declared matches."""
        if reference in self._aliases:
            return self._aliases[reference]
        if reference in self._wildcards:
            return reference
        resolved = resolve_model(reference, self._providers)
        return None if isinstance(resolved, str) else resolved.name


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
