"""The top-level `routing_preferences` and the v0.3.0 per-provider ones migrated into them: valid
and invalid routes."""

from __future__ import annotations

import pytest

from plano_extproc.config import Route, load_config
from tests.config.support import FIXTURES, HEAD, KEYS, Case, invalid_cases, issues_of, load

ROUTE = "routing_preferences:\n  - {name: code, description: writing code, models: [openai/gpt-4o]"


def test_per_provider_preferences_migrate_to_routes_with_warnings() -> None:
    config = load_config(FIXTURES / "legacy_v030.yaml", KEYS)

    assert config.routes == (
        Route(
            "code understanding",
            "understand and explain existing code snippets, functions, or libraries",
            ("openai/gpt-5",),
        ),
        Route(
            "complex reasoning",
            "deep analysis, mathematical problem solving, and logical reasoning",
            ("openai/gpt-5", "anthropic/claude-sonnet-4-5"),
        ),
        Route(
            "creative writing",
            "creative content generation, storytelling, and writing assistance",
            ("anthropic/claude-sonnet-4-5",),
        ),
    )
    deprecation = (
        "deprecated: per-provider routing_preferences are migrated to top-level routes; "
        "declare them under the top-level routing_preferences with a models list"
    )
    assert config.warnings == (
        "llm_providers: deprecated name; use model_providers",
        f"llm_providers[1].routing_preferences: {deprecation}",
        f"llm_providers[2].routing_preferences: {deprecation}",
    )


def test_migrated_routes_follow_top_level_ones_and_keep_the_first_description() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers:
          - model: openai/gpt-4o
            routing_preferences: [{name: code, description: writing code}]
          - model: openai/o3
            routing_preferences: [{name: code, description: code and tests}]
        routing_preferences:
          - {name: chat, description: chatting, models: [openai/o3]}
        """
    )

    assert [(route.name, route.models) for route in config.routes] == [
        ("chat", ("openai/o3",)),
        ("code", ("openai/gpt-4o", "openai/o3")),
    ]
    assert config.routes[1].description == "writing code"
    assert config.warnings[-1] == (
        "model_providers[1].routing_preferences[0].description: differs from the description "
        "at model_providers[0].routing_preferences[0], which the merged route keeps"
    )


@pytest.mark.parametrize("version", ["v0.4.0", "0.4.0", "v0.10.0", "v1"])
def test_top_level_routes_accept_any_version_from_v0_4_0(version: str) -> None:
    text = f"""\
        version: {version}
        model_providers: [{{model: openai/gpt-4o}}]
        routing_preferences: [{{name: a, description: b, models: [openai/gpt-4o]}}]
    """

    assert load(text).routes[0].name == "a"


CASES: list[Case] = [
    (
        "top-level routes before v0.4.0",
        HEAD.replace("v0.4.0", "v0.3.0") + ROUTE + "}\n",
        [
            (
                "routing_preferences",
                "top-level routing_preferences require version v0.4.0 or later; "
                "this file declares v0.3.0",
            )
        ],
    ),
    (
        "undeclared route model",
        HEAD
        + ROUTE
        + "}\n"
        + "  - {name: plan, description: planning, models: [openai/gpt-4o, openai/gpt-5]}\n"
        + "  - {name: chat, description: chatting, models: [openai/gpt-5]}\n",
        [
            (
                "routing_preferences[1].models[1]",
                "'openai/gpt-5' is not declared in model_providers",
            ),
            (
                "routing_preferences[2].models[0]",
                "'openai/gpt-5' is not declared in model_providers",
            ),
        ],
    ),
    (
        "model listed twice in a route",
        HEAD
        + "routing_preferences:\n"
        + "  - {name: a, description: b, models: [openai/gpt-4o, openai/gpt-4o]}\n",
        [
            (
                "routing_preferences[0].models[1]",
                "'openai/gpt-4o' is already listed at routing_preferences[0].models[0]",
            )
        ],
    ),
    (
        "duplicate route name",
        HEAD + ROUTE + "}\n  - {name: code, description: again, models: [openai/gpt-4o-mini]}\n",
        [("routing_preferences[1].name", "'code' is already declared by routing_preferences[0]")],
    ),
    (
        "cheapest without a cost source",
        HEAD + ROUTE + ", selection_policy: {prefer: cheapest}}\n",
        [
            (
                "routing_preferences[0].selection_policy.prefer",
                "'cheapest' needs a cost source in model_metrics_sources "
                "(digitalocean_pricing or cost_metrics)",
            )
        ],
    ),
    (
        "fastest without a latency source",
        HEAD
        + ROUTE
        + ", selection_policy: {prefer: fastest}}\n"
        + "model_metrics_sources: [{type: digitalocean_pricing}]\n",
        [
            (
                "routing_preferences[0].selection_policy.prefer",
                "'fastest' needs a latency source in model_metrics_sources (prometheus_metrics)",
            )
        ],
    ),
    (
        "unknown route key",
        HEAD + ROUTE + ", colour: red}\n",
        [
            (
                "routing_preferences[0].colour",
                "unknown key; expected one of: description, examples, models, name, "
                "selection_policy",
            )
        ],
    ),
    (
        "models is not a list",
        HEAD + "routing_preferences: [{name: a, description: b, models: openai/gpt-4o}]\n",
        [("routing_preferences[0].models", "must be a list, not a string")],
    ),
    (
        "empty models list",
        HEAD + "routing_preferences: [{name: a, description: b, models: []}]\n",
        [("routing_preferences[0].models", "must list at least one model")],
    ),
    (
        "unknown selection policy",
        HEAD + ROUTE + ", selection_policy: {prefer: fast}}\n",
        [
            (
                "routing_preferences[0].selection_policy.prefer",
                "unknown value 'fast'; expected one of: cheapest, fastest, none, random",
            )
        ],
    ),
    (
        "legacy route that clashes with a top-level route",
        "version: v0.4.0\nmodel_providers:\n"
        "  - model: openai/gpt-4o\n"
        "    routing_preferences: [{name: code, description: writing code}]\n"
        "routing_preferences: [{name: code, description: coding, models: [openai/gpt-4o]}]\n",
        [
            (
                "model_providers[0].routing_preferences[0].name",
                "'code' is already declared by routing_preferences[0]",
            )
        ],
    ),
    (
        "legacy route repeated on one provider",
        "version: v0.3.0\nmodel_providers:\n"
        "  - model: openai/gpt-4o\n"
        "    routing_preferences: [{name: code, description: a}, {name: code, description: a}]\n",
        [
            (
                "model_providers[0].routing_preferences[1].name",
                "'code' is already declared by model_providers[0].routing_preferences[0]",
            )
        ],
    ),
    (
        "wrong element types",
        HEAD
        + ROUTE
        + ", examples: [1, '']}\n"
        + "  - {name: other, description: other, models: [3]}\n",
        [
            ("routing_preferences[0].examples[0]", "must be a non-empty string, not an integer"),
            ("routing_preferences[0].examples[1]", "must be a non-empty string, not a string"),
            ("routing_preferences[1].models[0]", "must be a string, not an integer"),
        ],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
