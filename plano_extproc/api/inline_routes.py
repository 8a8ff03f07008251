"""Routing preferences sent inside a request body, replacing the configured routes for it.

Two shapes are accepted (never both in one request):

- ``routing_preferences: [{name, description, models: [..], selection_policy?: {prefer}}]``,
  the v0.4.0 shape, optionally with ``examples: [..]`` as in the config;
- ``routing_policy: [{model, routing_preferences: [{name, description}]}]``, Plano's legacy
  per-model shape: a route name listed under several models becomes one route over those models,
  in the order they appear, described by its first occurrence.

An absent field, ``null`` and an empty list all mean "no inline routes": the config applies.
Whether the models are declared providers is for the routing engine to check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from plano_extproc.api import reasons
from plano_extproc.api.errors import InvalidRequest
from plano_extproc.api.fields import (
    child,
    expect_object,
    expect_str,
    invalid_value,
    required,
    required_choice,
    required_nonempty_list,
    required_str,
    wrong_type,
)
from plano_extproc.config.model import Route, SelectionPolicy

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


def _nonempty_str(value: object, path: str) -> str:
    text = expect_str(value, path)
    if not text:
        raise invalid_value(path, "must not be empty")
    return text


def _preferences(value: object) -> tuple[Route, ...]:
    entries = _entries(value, "routing_preferences", "a list of routes")
    routes = tuple(
        _route(entry, f"routing_preferences[{index}]") for index, entry in enumerate(entries)
    )
    _check_unique(
        [route.name for route in routes], lambda i: f"routing_preferences[{i}].name", "route name"
    )
    return routes


def _route(value: object, path: str) -> Route:
    obj = expect_object(value, path, "a route object")
    name, description = _name_and_description(obj, path)
    models_path = child(path, "models")
    entries = required_nonempty_list(obj, "models", path, "a list of model names", "model")
    models = tuple(_nonempty_str(model, f"{models_path}[{i}]") for i, model in enumerate(entries))
    _check_unique(models, lambda i: f"{models_path}[{i}]", "model")
    return Route(
        name=name,
        description=description,
        models=models,
        policy=_policy(obj.get("selection_policy"), child(path, "selection_policy")),
        examples=_examples(obj.get("examples"), child(path, "examples")),
    )


def _name_and_description(obj: dict[str, Any], path: str) -> tuple[str, str]:
    name = _nonempty_str(required(obj, "name", path), child(path, "name"))
    return name, required_str(obj, "description", path)


def _policy(value: object, path: str) -> SelectionPolicy:
    if value is None:
        return SelectionPolicy.NONE
    policy = expect_object(value, path)
    return required_choice(policy, "prefer", path, _POLICIES, "selection policy")


def _examples(value: object, path: str) -> tuple[str, ...]:
    entries = _entries(value, path, "a list of example messages")
    return tuple(expect_str(entry, f"{path}[{index}]") for index, entry in enumerate(entries))


def _check_unique(values: Sequence[str], path_of: Callable[[int], str], what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise invalid_value(path_of(index), f'duplicate {what} "{value}"')
        seen.add(value)


def _legacy_policy(value: object) -> tuple[Route, ...]:
    descriptions: dict[str, str] = {}
    models: dict[str, list[str]] = {}
    for index, entry in enumerate(_entries(value, "routing_policy", "a list of model policies")):
        path = f"routing_policy[{index}]"
        obj = expect_object(entry, path, "a model policy object")
        model = _nonempty_str(required(obj, "model", path), child(path, "model"))
        prefs_path = child(path, "routing_preferences")
        prefs = _entries(required(obj, "routing_preferences", path), prefs_path, "a list of routes")
        for pref_index, pref in enumerate(prefs):
            pref_path = f"{prefs_path}[{pref_index}]"
            name, description = _name_and_description(
                expect_object(pref, pref_path, "a route object"), pref_path
            )
            descriptions.setdefault(name, description)
            route_models = models.setdefault(name, [])
            if model not in route_models:
                route_models.append(model)
    return tuple(
        Route(name=name, description=description, models=tuple(models[name]))
        for name, description in descriptions.items()
    )
