"""Routing preferences sent inside a request body, replacing the configured routes for it.

Two shapes are accepted (never both in one request):

- ``routing_preferences: [{name, description, models: [..], selection_policy?: {prefer}}]``,
  the v0.4.0 shape, optionally with ``examples: [..]`` as in the config;
- ``routing_policy: [{model, routing_preferences: [{name, description}]}]``, Plano's legacy
  per-model shape: a route name listed under several models becomes one route over those models,
  in the order they appear, described by its first occurrence.

An absent field, ``null`` and an empty list all mean "no inline routes": the config applies.
Whether the models are declared providers is for the routing engine to check.

Inline routes are capped (the ``MAX_*`` constants below) because the classifier indexes every new
route set: one request must not be able to stall it. Counts are checked before the entries are
read, so a huge list is refused without walking it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from plano_extproc.config.model import Route, SelectionPolicy
from plano_extproc.wire import reasons
from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.fields import (
    at_most_chars,
    at_most_items,
    child,
    excerpt,
    expect_object,
    expect_str,
    invalid_value,
    required,
    required_choice,
    required_nonempty_list,
    required_str,
    wrong_type,
)

MAX_ROUTES = 32
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 2_000
MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = 500
MAX_MODELS = 16
MAX_MODEL_CHARS = 256
# Names, descriptions and examples of all routes together: what the classifier has to index.
MAX_TOTAL_CHARS = 32_768
# Legacy routing_policy: one entry per model, each listing that model's routes.
MAX_MODEL_POLICIES = MAX_MODELS
MAX_PREFERENCES_PER_MODEL = MAX_ROUTES

_POLICIES = {policy.value: policy for policy in SelectionPolicy}


def inline_routes(body: dict[str, Any]) -> tuple[Route, ...] | None:
    try:
        preferences = _preferences(body.get("routing_preferences"))
        legacy = _legacy_policy(body.get("routing_policy"))
    except InvalidRequest as exc:
        # The shared field checks name a generic reason; here every problem is one of the routes.
        raise InvalidRequest(exc.message, reason=reasons.INVALID_ROUTING_PREFERENCES) from None
    if preferences and legacy:
        raise InvalidRequest(
            "routing_preferences and routing_policy cannot be combined; send one of them",
            reason=reasons.INVALID_ROUTING_PREFERENCES,
        )
    return preferences or legacy or None


def _entries(value: object, path: str, expected: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong_type(path, expected, value)
    return value


def _nonempty_str(value: object, path: str, max_chars: int) -> str:
    text = at_most_chars(expect_str(value, path), max_chars, path)
    if not text:
        raise invalid_value(path, "must not be empty")
    return text


def _preferences(value: object) -> tuple[Route, ...]:
    path = "routing_preferences"
    entries = at_most_items(_entries(value, path, "a list of routes"), MAX_ROUTES, path, "routes")
    routes = tuple(_route(entry, f"{path}[{index}]") for index, entry in enumerate(entries))
    _check_unique([route.name for route in routes], lambda i: f"{path}[{i}].name", "route name")
    _check_total_chars(routes, path)
    return routes


def _route(value: object, path: str) -> Route:
    obj = expect_object(value, path, "a route object")
    name, description = _name_and_description(obj, path)
    models_path = child(path, "models")
    entries = required_nonempty_list(obj, "models", path, "a list of model names", "model")
    at_most_items(entries, MAX_MODELS, models_path, "models")
    models = tuple(
        _nonempty_str(model, f"{models_path}[{i}]", MAX_MODEL_CHARS)
        for i, model in enumerate(entries)
    )
    _check_unique(models, lambda i: f"{models_path}[{i}]", "model")
    return Route(
        name=name,
        description=description,
        models=models,
        policy=_policy(obj.get("selection_policy"), child(path, "selection_policy")),
        examples=_examples(obj.get("examples"), child(path, "examples")),
    )


def _name_and_description(obj: dict[str, Any], path: str) -> tuple[str, str]:
    name = _nonempty_str(required(obj, "name", path), child(path, "name"), MAX_NAME_CHARS)
    description_path = child(path, "description")
    description = required_str(obj, "description", path)
    return name, at_most_chars(description, MAX_DESCRIPTION_CHARS, description_path)


def _policy(value: object, path: str) -> SelectionPolicy:
    if value is None:
        return SelectionPolicy.NONE
    policy = expect_object(value, path)
    return required_choice(policy, "prefer", path, _POLICIES, "selection policy")


def _examples(value: object, path: str) -> tuple[str, ...]:
    entries = _entries(value, path, "a list of example messages")
    at_most_items(entries, MAX_EXAMPLES, path, "examples")
    return tuple(
        at_most_chars(expect_str(entry, f"{path}[{i}]"), MAX_EXAMPLE_CHARS, f"{path}[{i}]")
        for i, entry in enumerate(entries)
    )


def _check_unique(values: Sequence[str], path_of: Callable[[int], str], what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise invalid_value(path_of(index), f'duplicate {what} "{excerpt(value)}"')
        seen.add(value)


def _check_total_chars(routes: Sequence[Route], path: str) -> None:
    total = sum(
        len(route.name) + len(route.description) + sum(map(len, route.examples)) for route in routes
    )
    if total > MAX_TOTAL_CHARS:
        raise invalid_value(
            path,
            f"at most {MAX_TOTAL_CHARS} characters of route names, descriptions and examples "
            f"in all (got {total})",
        )


def _legacy_policy(value: object) -> tuple[Route, ...]:
    path = "routing_policy"
    entries = _entries(value, path, "a list of model policies")
    at_most_items(entries, MAX_MODEL_POLICIES, path, "model policies")
    descriptions: dict[str, str] = {}
    models: dict[str, list[str]] = {}
    for index, entry in enumerate(entries):
        policy_path = f"{path}[{index}]"
        obj = expect_object(entry, policy_path, "a model policy object")
        model_path = child(policy_path, "model")
        model = _nonempty_str(required(obj, "model", policy_path), model_path, MAX_MODEL_CHARS)
        for name, description in _legacy_preferences(obj, policy_path):
            descriptions.setdefault(name, description)
            # Several models may each list a few routes, and the union can still be too many.
            at_most_items(descriptions, MAX_ROUTES, path, "routes")
            route_models = models.setdefault(name, [])
            if model not in route_models:
                route_models.append(model)
    routes = tuple(
        Route(name=name, description=description, models=tuple(models[name]))
        for name, description in descriptions.items()
    )
    _check_total_chars(routes, path)
    return routes


def _legacy_preferences(obj: dict[str, Any], path: str) -> list[tuple[str, str]]:
    prefs_path = child(path, "routing_preferences")
    prefs = _entries(required(obj, "routing_preferences", path), prefs_path, "a list of routes")
    at_most_items(prefs, MAX_PREFERENCES_PER_MODEL, prefs_path, "routes")
    return [
        _name_and_description(
            expect_object(pref, f"{prefs_path}[{i}]", "a route object"), f"{prefs_path}[{i}]"
        )
        for i, pref in enumerate(prefs)
    ]
