from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from plano_extproc.config.model import Route, SelectionPolicy
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import inline_routes as inline
from tests.wire.support import assert_invalid, parse

REASON = "invalid_routing_preferences"

_CONVERSATIONS: dict[ClientApi, dict[str, Any]] = {
    ClientApi.CHAT: {"messages": [{"role": "user", "content": "write quicksort"}]},
    ClientApi.MESSAGES: {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
    ClientApi.RESPONSES: {"input": "write quicksort"},
}


def _chat(**fields: object) -> dict[str, Any]:
    return {**_CONVERSATIONS[ClientApi.CHAT], **fields}


@pytest.mark.parametrize("api", list(ClientApi))
def test_routing_preferences_in_every_api(api: ClientApi) -> None:
    preferences = [
        {
            "name": "code generation",
            "description": "generating new code snippets",
            "models": ["anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"],
            "selection_policy": {"prefer": "fastest"},
        },
        {
            "name": "general",
            "description": "casual conversation",
            "models": ["openai/gpt-4o-mini"],
            "selection_policy": None,
            "examples": ["hello there"],
            "some_future_field": True,
        },
    ]

    parsed = parse(api, {**_CONVERSATIONS[api], "routing_preferences": preferences})

    assert parsed.inline_routes == (
        Route(
            name="code generation",
            description="generating new code snippets",
            models=("anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"),
            policy=SelectionPolicy.FASTEST,
        ),
        Route(
            name="general",
            description="casual conversation",
            models=("openai/gpt-4o-mini",),
            examples=("hello there",),
        ),
    )


@pytest.mark.parametrize("prefer", list(SelectionPolicy))
def test_every_selection_policy(prefer: SelectionPolicy) -> None:
    route = {
        "name": "r",
        "description": "d",
        "models": ["m"],
        "selection_policy": {"prefer": prefer},
    }

    parsed = parse(ClientApi.CHAT, _chat(routing_preferences=[route]))

    assert parsed.inline_routes is not None
    assert parsed.inline_routes[0].policy is prefer


@pytest.mark.parametrize("api", list(ClientApi))
def test_legacy_routing_policy_merges_routes_by_name(api: ClientApi) -> None:
    policy = [
        {
            "model": "openai/gpt-4o",
            "routing_preferences": [
                {"name": "coding", "description": "code generation and debugging"},
                {"name": "general", "description": "simple questions"},
            ],
        },
        {
            "model": "openai/gpt-4o-mini",
            "routing_preferences": [
                {"name": "general", "description": "a later description is ignored"},
                {"name": "general", "description": "listed twice under one model"},
            ],
        },
        {"model": "anthropic/claude", "routing_preferences": []},
        {"model": "anthropic/claude-haiku", "routing_preferences": None},
        {"model": "openai/o3", "routing_preferences": [{"name": "coding", "description": ""}]},
    ]

    parsed = parse(api, {**_CONVERSATIONS[api], "routing_policy": policy})

    assert parsed.inline_routes == (
        Route("coding", "code generation and debugging", ("openai/gpt-4o", "openai/o3")),
        Route("general", "simple questions", ("openai/gpt-4o", "openai/gpt-4o-mini")),
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"routing_preferences": None},
        {"routing_preferences": []},
        {"routing_policy": None},
        {"routing_policy": []},
        {"routing_policy": [{"model": "m", "routing_preferences": []}]},
        {"routing_preferences": [], "routing_policy": []},
    ],
)
def test_empty_or_null_means_no_inline_routes(fields: dict[str, Any]) -> None:
    assert parse(ClientApi.CHAT, _chat(**fields)).inline_routes is None


def test_an_empty_field_beside_a_filled_one_is_ignored() -> None:
    route = {"name": "r", "description": "d", "models": ["m"]}

    parsed = parse(ClientApi.CHAT, _chat(routing_preferences=[route], routing_policy=[]))

    assert parsed.inline_routes == (Route("r", "d", ("m",)),)


def _route(**overrides: object) -> dict[str, Any]:
    return {"name": "r", "description": "d", "models": ["m"], **overrides}


def _without(key: str) -> dict[str, Any]:
    route = _route()
    del route[key]
    return route


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"routing_preferences": {}}, "routing_preferences: expected a list of routes, got object"),
        (
            {"routing_preferences": ["r"]},
            "routing_preferences[0]: expected a route object, got string",
        ),
        (
            {"routing_preferences": [_without("name")]},
            "routing_preferences[0].name: required field is missing",
        ),
        (
            {"routing_preferences": [_route(name=1)]},
            "routing_preferences[0].name: expected a string, got number",
        ),
        (
            {"routing_preferences": [_route(name="")]},
            "routing_preferences[0].name: must not be empty",
        ),
        (
            {"routing_preferences": [_without("description")]},
            "routing_preferences[0].description: required field is missing",
        ),
        (
            {"routing_preferences": [_route(description=None)]},
            "routing_preferences[0].description: expected a string, got null",
        ),
        (
            {"routing_preferences": [_without("models")]},
            "routing_preferences[0].models: required field is missing",
        ),
        (
            {"routing_preferences": [_route(models="m")]},
            "routing_preferences[0].models: expected a list of model names, got string",
        ),
        (
            {"routing_preferences": [_route(models=[])]},
            "routing_preferences[0].models: must contain at least one model",
        ),
        (
            {"routing_preferences": [_route(models=["a", 2])]},
            "routing_preferences[0].models[1]: expected a string, got number",
        ),
        (
            {"routing_preferences": [_route(models=[""])]},
            "routing_preferences[0].models[0]: must not be empty",
        ),
        (
            {"routing_preferences": [_route(models=["a", "b", "a"])]},
            'routing_preferences[0].models[2]: duplicate model "a"',
        ),
        (
            {"routing_preferences": [_route(), _route(name="s"), _route()]},
            'routing_preferences[2].name: duplicate route name "r"',
        ),
        (
            {"routing_preferences": [_route(selection_policy="cheapest")]},
            "routing_preferences[0].selection_policy: expected an object, got string",
        ),
        (
            {"routing_preferences": [_route(selection_policy={})]},
            "routing_preferences[0].selection_policy.prefer: required field is missing",
        ),
        (
            {"routing_preferences": [_route(selection_policy={"prefer": "best"})]},
            'routing_preferences[0].selection_policy.prefer: unknown selection policy "best"; '
            "expected one of none, cheapest, fastest, random",
        ),
        (
            {"routing_preferences": [_route(examples="hi")]},
            "routing_preferences[0].examples: expected a list of example messages, got string",
        ),
        (
            {"routing_preferences": [_route(examples=["hi", None])]},
            "routing_preferences[0].examples[1]: expected a string, got null",
        ),
        ({"routing_policy": "x"}, "routing_policy: expected a list of model policies, got string"),
        ({"routing_policy": [1]}, "routing_policy[0]: expected a model policy object, got number"),
        (
            {"routing_policy": [{"routing_preferences": []}]},
            "routing_policy[0].model: required field is missing",
        ),
        (
            {"routing_policy": [{"model": "", "routing_preferences": []}]},
            "routing_policy[0].model: must not be empty",
        ),
        (
            {"routing_policy": [{"model": "m"}]},
            "routing_policy[0].routing_preferences: required field is missing",
        ),
        (
            {"routing_policy": [{"model": "m", "routing_preferences": {}}]},
            "routing_policy[0].routing_preferences: expected a list of routes, got object",
        ),
        (
            {"routing_policy": [{"model": "m", "routing_preferences": [[]]}]},
            "routing_policy[0].routing_preferences[0]: expected a route object, got array",
        ),
        (
            {"routing_policy": [{"model": "m", "routing_preferences": [{"description": "d"}]}]},
            "routing_policy[0].routing_preferences[0].name: required field is missing",
        ),
        (
            {
                "routing_policy": [
                    {"model": "m", "routing_preferences": [{"name": "n", "description": 0}]}
                ]
            },
            "routing_policy[0].routing_preferences[0].description: expected a string, got number",
        ),
        (
            {
                "routing_preferences": [_route()],
                "routing_policy": [
                    {"model": "m", "routing_preferences": [{"name": "n", "description": "d"}]}
                ],
            },
            "routing_preferences and routing_policy cannot be combined; send one of them",
        ),
    ],
)
def test_invalid_routing_preferences(fields: dict[str, Any], message: str) -> None:
    assert_invalid(ClientApi.CHAT, _chat(**fields), message, REASON)


def test_conversation_errors_are_reported_before_routing_errors() -> None:
    body = {"messages": [], "routing_preferences": "bad"}

    assert_invalid(
        ClientApi.CHAT, body, "messages: must contain at least one message", "invalid_value"
    )


def _named_routes(count: int) -> list[dict[str, Any]]:
    return [_route(name=f"r{index}") for index in range(count)]


def _prefs(count: int, start: int = 0) -> list[dict[str, str]]:
    return [{"name": f"r{index}", "description": "d"} for index in range(start, start + count)]


def _policy(model: str = "m", **pref: str) -> list[dict[str, Any]]:
    return [{"model": model, "routing_preferences": [{"name": "r", "description": "d", **pref}]}]


def _routes_totalling(chars: int) -> list[dict[str, Any]]:
    # 16 routes of 3 + 1000 + 2 * 500 = 2003 characters, then one that makes up the rest.
    full = [
        _route(name=f"r{index:02d}", description="d" * 1000, examples=["e" * 500] * 2)
        for index in range(16)
    ]
    return [*full, _route(name="r16", description="d" * (chars - 16 * 2003 - 3))]


def _legacy_totalling(chars: int) -> list[dict[str, Any]]:
    prefs = [{"name": f"r{index:02d}", "description": "d" * 2000} for index in range(16)]
    last = {"name": "r16", "description": "d" * (chars - 16 * 2003 - 3)}
    return [{"model": "m", "routing_preferences": [*prefs, last]}]


@dataclass(frozen=True)
class _Cap:
    fields: Callable[[int], dict[str, Any]]
    limit: int
    message: str


_CAPS = {
    "routes": _Cap(
        lambda n: {"routing_preferences": _named_routes(n)},
        inline.MAX_ROUTES,
        "routing_preferences: at most 32 routes are allowed (got 33)",
    ),
    "name": _Cap(
        lambda n: {"routing_preferences": [_route(name="n" * n)]},
        inline.MAX_NAME_CHARS,
        "routing_preferences[0].name: at most 64 characters (got 65)",
    ),
    "description": _Cap(
        lambda n: {"routing_preferences": [_route(description="d" * n)]},
        inline.MAX_DESCRIPTION_CHARS,
        "routing_preferences[0].description: at most 2000 characters (got 2001)",
    ),
    "examples": _Cap(
        lambda n: {"routing_preferences": [_route(examples=["e"] * n)]},
        inline.MAX_EXAMPLES,
        "routing_preferences[0].examples: at most 20 examples are allowed (got 21)",
    ),
    "example": _Cap(
        lambda n: {"routing_preferences": [_route(examples=["ok", "e" * n])]},
        inline.MAX_EXAMPLE_CHARS,
        "routing_preferences[0].examples[1]: at most 500 characters (got 501)",
    ),
    "models": _Cap(
        lambda n: {"routing_preferences": [_route(models=[f"m{i}" for i in range(n)])]},
        inline.MAX_MODELS,
        "routing_preferences[0].models: at most 16 models are allowed (got 17)",
    ),
    "model": _Cap(
        lambda n: {"routing_preferences": [_route(models=["m", "m" * n])]},
        inline.MAX_MODEL_CHARS,
        "routing_preferences[0].models[1]: at most 256 characters (got 257)",
    ),
    "total": _Cap(
        lambda n: {"routing_preferences": _routes_totalling(n)},
        inline.MAX_TOTAL_CHARS,
        "routing_preferences: at most 32768 characters of route names, descriptions and "
        "examples in all (got 32769)",
    ),
    "legacy policies": _Cap(
        lambda n: {"routing_policy": [_policy(f"m{i}")[0] for i in range(n)]},
        inline.MAX_MODEL_POLICIES,
        "routing_policy: at most 16 model policies are allowed (got 17)",
    ),
    "legacy preferences": _Cap(
        lambda n: {"routing_policy": [{"model": "m", "routing_preferences": _prefs(n)}]},
        inline.MAX_PREFERENCES_PER_MODEL,
        "routing_policy[0].routing_preferences: at most 32 routes are allowed (got 33)",
    ),
    "legacy merged routes": _Cap(
        lambda n: {
            "routing_policy": [
                {"model": "a", "routing_preferences": _prefs(16)},
                {"model": "b", "routing_preferences": _prefs(n - 16, start=16)},
            ]
        },
        inline.MAX_ROUTES,
        "routing_policy: at most 32 routes are allowed (got 33)",
    ),
    "legacy name": _Cap(
        lambda n: {"routing_policy": _policy(name="n" * n)},
        inline.MAX_NAME_CHARS,
        "routing_policy[0].routing_preferences[0].name: at most 64 characters (got 65)",
    ),
    "legacy description": _Cap(
        lambda n: {"routing_policy": _policy(description="d" * n)},
        inline.MAX_DESCRIPTION_CHARS,
        "routing_policy[0].routing_preferences[0].description: at most 2000 characters (got 2001)",
    ),
    "legacy model": _Cap(
        lambda n: {"routing_policy": _policy("m" * n)},
        inline.MAX_MODEL_CHARS,
        "routing_policy[0].model: at most 256 characters (got 257)",
    ),
    "legacy total": _Cap(
        lambda n: {"routing_policy": _legacy_totalling(n)},
        inline.MAX_TOTAL_CHARS,
        "routing_policy: at most 32768 characters of route names, descriptions and examples "
        "in all (got 32769)",
    ),
}


@pytest.mark.parametrize("cap", _CAPS.values(), ids=_CAPS.keys())
def test_a_cap_itself_is_allowed(cap: _Cap) -> None:
    parsed = parse(ClientApi.CHAT, _chat(**cap.fields(cap.limit)))

    assert parsed.inline_routes


@pytest.mark.parametrize("cap", _CAPS.values(), ids=_CAPS.keys())
def test_one_past_a_cap_is_refused(cap: _Cap) -> None:
    assert_invalid(ClientApi.CHAT, _chat(**cap.fields(cap.limit + 1)), cap.message, REASON)


def test_the_suggested_limits() -> None:
    limits = (
        inline.MAX_ROUTES,
        inline.MAX_NAME_CHARS,
        inline.MAX_DESCRIPTION_CHARS,
        inline.MAX_EXAMPLES,
        inline.MAX_EXAMPLE_CHARS,
        inline.MAX_MODELS,
        inline.MAX_TOTAL_CHARS,
    )

    assert limits == (32, 64, 2000, 20, 500, 16, 32768)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"routing_preferences": [1] * 100_000},
            "routing_preferences: at most 32 routes are allowed (got 100000)",
        ),
        (
            {"routing_preferences": [_route(models=[None] * 17)]},
            "routing_preferences[0].models: at most 16 models are allowed (got 17)",
        ),
        (
            {"routing_preferences": [_route(examples=[None] * 21)]},
            "routing_preferences[0].examples: at most 20 examples are allowed (got 21)",
        ),
        (
            {"routing_policy": [1] * 17},
            "routing_policy: at most 16 model policies are allowed (got 17)",
        ),
        (
            {"routing_policy": [{"model": "m", "routing_preferences": [1] * 33}]},
            "routing_policy[0].routing_preferences: at most 32 routes are allowed (got 33)",
        ),
    ],
)
def test_counts_are_checked_before_the_entries(fields: dict[str, Any], message: str) -> None:
    assert_invalid(ClientApi.CHAT, _chat(**fields), message, REASON)


def test_a_long_value_is_measured_not_echoed() -> None:
    routes = [*_named_routes(3), _route(name="big", description="x" * 9000)]

    assert_invalid(
        ClientApi.CHAT,
        _chat(routing_preferences=routes),
        "routing_preferences[3].description: at most 2000 characters (got 9000)",
        REASON,
    )


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            _route(models=["m" * 200, "m" * 200]),
            f'routing_preferences[0].models[1]: duplicate model "{"m" * 64}…"',
        ),
        (
            _route(selection_policy={"prefer": "p" * 10_000}),
            "routing_preferences[0].selection_policy.prefer: unknown selection policy "
            f'"{"p" * 64}…"; expected one of none, cheapest, fastest, random',
        ),
    ],
)
def test_echoed_values_are_cut_short(route: dict[str, Any], message: str) -> None:
    assert_invalid(ClientApi.CHAT, _chat(routing_preferences=[route]), message, REASON)
