"""The top-level `routing_preferences`, and the v0.3.0 per-provider ones migrated into them.

Per-provider ``routing_preferences`` (the v0.3.0 style) become top-level routes whose model is
that provider; one route name on several providers gives one route with all of them, in
provider order. Each provider using that style gets a deprecation warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plano_extproc.config.model import (
    MetricsSource,
    ModelProvider,
    PrometheusLatencySource,
    ProviderIndex,
    Route,
    SelectionPolicy,
)
from plano_extproc.config.reader import (
    Issues,
    Section,
    first_claim,
    index,
    join,
    kind_of,
    open_section,
)
from plano_extproc.config.spec import (
    LEGACY_PROVIDER_ROUTE,
    ROUTE,
    SELECTION_POLICY,
    TOP_LEVEL_ROUTES_SINCE,
)


@dataclass(frozen=True, slots=True)
class LegacyRoute:
    """A route declared inside a provider, the v0.3.0 way; `model` is that provider's name."""

    location: str
    name: str
    description: str
    model: str


def read_routes(
    top: Section,
    version_text: str,
    version: tuple[int, int, int] | None,
    providers: tuple[ModelProvider, ...],
    sources: tuple[MetricsSource, ...],
) -> list[Route]:
    _check_version(top, version_text, version)
    declared = ProviderIndex(providers)
    has_cost = any(not isinstance(s, PrometheusLatencySource) for s in sources)
    has_latency = any(isinstance(s, PrometheusLatencySource) for s in sources)
    names: dict[str, str] = {}
    routes = []
    for location, item in top.items("routing_preferences"):
        section = open_section(item, location, ROUTE, top.issues)
        if section is None:
            continue
        name = section.text("name")
        if name and (earlier := first_claim(names, name, location)):
            top.issues.error(section.where("name"), f"'{name}' is already declared by {earlier}")
        routes.append(
            Route(
                name=name or "",
                description=section.text("description") or "",
                models=_route_models(section, declared),
                policy=_selection_policy(section, has_cost, has_latency),
                examples=section.texts("examples"),
            )
        )
    return routes


def _check_version(top: Section, version_text: str, version: tuple[int, int, int] | None) -> None:
    if top.has("routing_preferences") and version and version < TOP_LEVEL_ROUTES_SINCE:
        top.issues.error(
            top.where("routing_preferences"),
            "top-level routing_preferences require version v0.4.0 or later; "
            f"this file declares {version_text}",
        )


def _route_models(route: Section, declared: ProviderIndex) -> tuple[str, ...]:
    """The models of a route: declared ones, or models under a wildcard's prefix."""
    if isinstance(route.data.get("models"), list) and not route.data["models"]:
        route.issues.error(route.where("models"), "must list at least one model")
    models: dict[str, str] = {}
    for location, model in route.items("models"):
        if not isinstance(model, str):
            route.issues.error(location, f"must be a string, not {kind_of(model)}")
        elif model not in declared:
            route.issues.error(location, f"'{model}' is not declared in model_providers")
        elif declared[model].is_wildcard:
            route.issues.error(location, f"'{model}' is a wildcard; name one of its models")
        elif earlier := first_claim(models, model, location):
            route.issues.error(location, f"'{model}' is already listed at {earlier}")
    return tuple(models)


def _selection_policy(route: Section, has_cost: bool, has_latency: bool) -> SelectionPolicy:
    section = route.section("selection_policy", SELECTION_POLICY)
    if section is None:
        return SelectionPolicy.NONE
    policy = section.choice("prefer", SelectionPolicy, SelectionPolicy.NONE)
    if policy is SelectionPolicy.CHEAPEST and not has_cost:
        section.issues.error(
            section.where("prefer"),
            "'cheapest' needs a cost source in model_metrics_sources "
            "(digitalocean_pricing or cost_metrics)",
        )
    if policy is SelectionPolicy.FASTEST and not has_latency:
        section.issues.error(
            section.where("prefer"),
            "'fastest' needs a latency source in model_metrics_sources (prometheus_metrics)",
        )
    return policy or SelectionPolicy.NONE


def read_legacy_routes(provider: Section, model: str) -> list[LegacyRoute]:
    """The provider's own `routing_preferences`; `model` is the provider's name."""
    routes = []
    for location, item in provider.items("routing_preferences"):
        section = open_section(item, location, LEGACY_PROVIDER_ROUTE, provider.issues)
        name = section.text("name") if section else None
        description = section.text("description") if section else None
        if name and description:
            routes.append(LegacyRoute(location, name, description, model))
    if provider.has("routing_preferences"):
        provider.issues.warn(
            provider.where("routing_preferences"),
            "deprecated: per-provider routing_preferences are migrated to top-level routes; "
            "declare them under the top-level routing_preferences with a models list",
        )
    return routes


def migrated_routes(
    legacy_routes: Iterable[LegacyRoute], routes: list[Route], issues: Issues
) -> list[Route]:
    """Top-level routes for `legacy_routes`, given in provider order; `routes` are the others."""
    top_level = {route.name: index("routing_preferences", i) for i, route in enumerate(routes)}
    merged: dict[str, tuple[LegacyRoute, list[str]]] = {}
    for legacy in legacy_routes:
        if legacy.name in top_level:
            earlier = top_level[legacy.name]
            issues.error(
                join(legacy.location, "name"), f"'{legacy.name}' is already declared by {earlier}"
            )
        elif legacy.name not in merged:
            merged[legacy.name] = (legacy, [legacy.model])
        else:
            _merge(legacy, *merged[legacy.name], issues)
    return [
        Route(name=name, description=first.description, models=tuple(models))
        for name, (first, models) in merged.items()
    ]


def _merge(legacy: LegacyRoute, first: LegacyRoute, models: list[str], issues: Issues) -> None:
    """Adds `legacy`'s provider to the route `first` declared, unless it is there already."""
    if legacy.model in models:
        issues.error(
            join(legacy.location, "name"),
            f"'{legacy.name}' is already declared by {first.location}",
        )
        return
    if legacy.description != first.description:
        issues.warn(
            join(legacy.location, "description"),
            f"differs from the description at {first.location}, which the merged route keeps",
        )
    models.append(legacy.model)
