"""The `model_metrics_sources` section: both spellings of each source, their defaults, and invalid
sources."""

from __future__ import annotations

import pytest

from plano_extproc.config import (
    CostEndpointSource,
    DigitalOceanPricingSource,
    PrometheusLatencySource,
)
from tests.config.support import HEAD, MINIMAL, Case, invalid_cases, issues_of, load


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        (
            "{type: digitalocean_pricing, refresh_interval: 600, "
            "model_aliases: {a: openai/gpt-4o}}",
            "{type: cost, provider: digitalocean, refresh_interval: 600, "
            "model_aliases: {a: openai/gpt-4o}}",
        ),
        (
            "{type: cost_metrics, url: 'https://p/costs?v=2', auth: {type: bearer, token: $T}}",
            "{type: cost, provider: custom, url: 'https://p/costs?v=2', "
            "auth: {type: bearer, token: $T}}",
        ),
        (
            "{type: prometheus_metrics, url: 'http://prom:9090', query: q, refresh_interval: 30s}",
            "{type: latency, provider: prometheus, url: 'http://prom:9090', query: q, "
            "refresh_interval: 30}",
        ),
    ],
    ids=["digitalocean", "cost endpoint", "prometheus"],
)
def test_both_spellings_of_a_metrics_source_load_the_same(older: str, newer: str) -> None:
    def source(entry: str) -> object:
        text = MINIMAL + f"    model_metrics_sources: [{entry}]\n"
        return load(text, env={"T": "secret"}).metrics_sources

    assert source(older) == source(newer)
    assert len(source(older)) == 1


def test_metrics_source_defaults() -> None:
    config = load(
        MINIMAL
        + "    model_metrics_sources:\n"
        + "      - {type: digitalocean_pricing}\n"
        + "      - {type: prometheus_metrics, url: 'http://p:9090', query: q}\n"
    )

    assert config.cost_source == DigitalOceanPricingSource()
    assert config.latency_source == PrometheusLatencySource("http://p:9090", "q", 60.0)
    unauthenticated = load(
        MINIMAL + "    model_metrics_sources: [{type: cost_metrics, url: 'http://c'}]\n"
    )
    assert unauthenticated.cost_source == CostEndpointSource("http://c", None, 300.0)


def test_pricing_alias_to_an_undeclared_model_is_a_warning() -> None:
    config = load(
        MINIMAL
        + "    model_metrics_sources:\n"
        + "      - {type: digitalocean_pricing, model_aliases: {openai-gpt-5: openai/gpt-5}}\n"
    )

    assert config.warnings == (
        "model_metrics_sources[0].model_aliases.openai-gpt-5: 'openai/gpt-5' is not declared "
        "in model_providers; this alias has no effect",
    )


CASES: list[Case] = [
    (
        "two cost sources",
        HEAD
        + "model_metrics_sources:\n"
        + "  - {type: digitalocean_pricing}\n"
        + "  - {type: cost_metrics, url: 'https://pricing/costs'}\n",
        [
            (
                "model_metrics_sources[1]",
                "only one cost source is allowed; model_metrics_sources[0] is already one",
            )
        ],
    ),
    (
        "two latency sources",
        HEAD
        + "model_metrics_sources:\n"
        + "  - {type: prometheus_metrics, url: 'http://p:9090', query: q}\n"
        + "  - {type: latency, provider: prometheus, url: 'http://p:9090', query: q}\n",
        [
            (
                "model_metrics_sources[1]",
                "only one latency source is allowed; model_metrics_sources[0] is already one",
            )
        ],
    ),
    (
        "unsupported auth type",
        HEAD + "model_metrics_sources:\n"
        "  - {type: cost_metrics, url: 'https://p/costs', auth: {type: basic, token: t}}\n",
        [("model_metrics_sources[0].auth.type", "unknown value 'basic'; expected one of: bearer")],
    ),
    (
        "unknown metrics source type",
        HEAD + "model_metrics_sources: [{type: pricing}]\n",
        [
            (
                "model_metrics_sources[0].type",
                "unknown value 'pricing'; expected one of: cost, cost_metrics, "
                "digitalocean_pricing, latency, prometheus_metrics",
            )
        ],
    ),
    (
        "cost source with an unknown provider",
        HEAD + "model_metrics_sources: [{type: cost, provider: models.dev}]\n",
        [
            (
                "model_metrics_sources[0].provider",
                "unknown value 'models.dev'; expected one of: custom, digitalocean",
            )
        ],
    ),
    (
        "metrics sources missing type or provider",
        HEAD + "model_metrics_sources: [{refresh_interval: 60}, {type: latency}, 7]\n",
        [
            ("model_metrics_sources[0].type", "missing required key"),
            ("model_metrics_sources[1].provider", "missing required key"),
            ("model_metrics_sources[2]", "must be a mapping, not an integer"),
        ],
    ),
    (
        "prometheus source without a query",
        HEAD + "model_metrics_sources: [{type: prometheus_metrics, url: 'http://p:9090'}]\n",
        [("model_metrics_sources[0].query", "missing required key")],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
