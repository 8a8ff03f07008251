"""Each source's fetch against a local HTTP server: good answers, bad answers, no answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import MappingProxyType

import httpx
import pytest

from plano_extproc.config.model import (
    CostEndpointSource,
    DigitalOceanPricingSource,
    PrometheusLatencySource,
)
from plano_extproc.metrics_sources.cost_endpoint import fetch_endpoint_costs
from plano_extproc.metrics_sources.digitalocean import MAX_PAGES, fetch_digitalocean_costs
from plano_extproc.metrics_sources.fetch import FetchTimeouts, MetricsSourceError, as_metric
from plano_extproc.metrics_sources.prometheus import fetch_prometheus_latencies
from tests.metrics_sources.conftest import StubServer

SHORT = FetchTimeouts(connect=0.5, total=0.3)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=SHORT.for_client()) as http:
        yield http


def vector(*series: tuple[dict[str, str], str]) -> dict[str, object]:
    result = [{"metric": labels, "value": [1700000000.0, value]} for labels, value in series]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def catalog_entry(model_id: str, creator: str, input_price: float, output_price: float) -> dict:
    return {
        "model_id": model_id,
        "creator": creator,
        "pricing": {
            "input_price_per_million": input_price,
            "output_price_per_million": output_price,
        },
    }


# --- cost_metrics ------------------------------------------------------------------------


async def test_cost_endpoint_sums_prices_and_sends_bearer_token(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/costs",
        {
            "anthropic/claude-sonnet-4-20250514": {
                "input_per_million": 3.0,
                "output_per_million": 15,
            },
            "openai/gpt-4o": {"input_per_million": 5.0, "output_per_million": 20.0},
        },
    )
    source = CostEndpointSource(url=f"{stub.url}/costs", token="s3cret")

    data = await fetch_endpoint_costs(source, client)

    assert data.values == {"anthropic/claude-sonnet-4-20250514": 18.0, "openai/gpt-4o": 25.0}
    assert data.skipped == ()
    assert stub.requests[0].headers["Authorization"] == "Bearer s3cret"


async def test_cost_endpoint_without_token_sends_no_authorization(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply("/costs", {"m": {"input_per_million": 1, "output_per_million": 2}})

    await fetch_endpoint_costs(CostEndpointSource(url=f"{stub.url}/costs"), client)

    assert "Authorization" not in stub.requests[0].headers


async def test_cost_endpoint_skips_partially_bad_entries(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/costs",
        {
            "good": {"input_per_million": 1, "output_per_million": 2},
            "not-an-object": 3,
            "missing-output": {"input_per_million": 1},
            "string-price": {"input_per_million": "cheap", "output_per_million": 1},
            "boolean-price": {"input_per_million": True, "output_per_million": 1},
            "negative": {"input_per_million": -1, "output_per_million": 1},
        },
    )

    data = await fetch_endpoint_costs(CostEndpointSource(url=f"{stub.url}/costs"), client)

    assert data.values == {"good": 3.0}
    assert set(data.skipped) == {
        "not-an-object",
        "missing-output",
        "string-price",
        "boolean-price",
        "negative",
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{not json", 200, "not JSON"),
        ([1, 2, 3], 200, "keyed by model"),
        ("null", 200, "keyed by model"),
        ({"error": "boom"}, 500, "HTTP 500"),
        ("", 401, "HTTP 401"),
    ],
)
async def test_cost_endpoint_rejects_unusable_answers(
    stub: StubServer, client: httpx.AsyncClient, body: object, status: int, message: str
) -> None:
    stub.reply("/costs", body, status=status)

    with pytest.raises(MetricsSourceError, match=message):
        await fetch_endpoint_costs(CostEndpointSource(url=f"{stub.url}/costs"), client)


async def test_slow_answer_is_a_timeout_error(stub: StubServer, client: httpx.AsyncClient) -> None:
    stub.reply("/costs", {}, delay=5)

    with pytest.raises(MetricsSourceError, match="ReadTimeout"):
        await fetch_endpoint_costs(CostEndpointSource(url=f"{stub.url}/costs"), client)


async def test_unreachable_source_is_a_connect_error(
    closed_port_url: str, client: httpx.AsyncClient
) -> None:
    with pytest.raises(MetricsSourceError, match="ConnectError"):
        await fetch_endpoint_costs(CostEndpointSource(url=f"{closed_port_url}/costs"), client)


# --- digitalocean_pricing -----------------------------------------------------------------


async def test_digitalocean_publishes_raw_and_creator_qualified_ids(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/catalog",
        {
            "data": [
                catalog_entry("gpt-4o", "OpenAI", 2.5, 10.0),
                catalog_entry("llama3.3-70b-instruct", "Meta", 0.65, 0.65),
                {
                    "model_id": "no-creator",
                    "pricing": {"input_price_per_million": 1, "output_price_per_million": 1},
                },
            ]
        },
    )
    source = DigitalOceanPricingSource(url=f"{stub.url}/catalog")

    data = await fetch_digitalocean_costs(source, client)

    assert data.values == {
        "gpt-4o": 12.5,
        "openai/gpt-4o": 12.5,
        "llama3.3-70b-instruct": 1.3,
        "meta/llama3.3-70b-instruct": 1.3,
        "no-creator": 2.0,
    }
    assert "Authorization" not in stub.requests[0].headers


async def test_digitalocean_aliases_map_catalog_names_to_config_models(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/catalog",
        {
            "data": [
                catalog_entry("anthropic-claude-4.5-sonnet", "Anthropic", 3, 15),
                catalog_entry("openai-gpt-4o-mini", "OpenAI", 0.15, 0.6),
            ]
        },
    )
    aliases = {
        "anthropic-claude-4.5-sonnet": "anthropic/claude-sonnet-4-5",
        "openai/openai-gpt-4o-mini": "openai/gpt-4o-mini",  # the creator-qualified name works too
        "not-in-catalog": "unknown/model",
    }
    source = DigitalOceanPricingSource(
        url=f"{stub.url}/catalog", model_aliases=MappingProxyType(aliases)
    )

    data = await fetch_digitalocean_costs(source, client)

    assert data.values["anthropic/claude-sonnet-4-5"] == 18.0
    assert data.values["openai/gpt-4o-mini"] == pytest.approx(0.75)
    assert "unknown/model" not in data.values


async def test_digitalocean_skips_bad_entries_and_ignores_unpriced_ones(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/catalog",
        {
            "data": [
                catalog_entry("good", "Meta", 1, 1),
                {"model_id": "dedicated-only", "creator": "Meta", "pricing": None},
                {"model_id": "half-priced", "pricing": {"input_price_per_million": 1}},
                {"creator": "Meta"},
                "not-an-object",
            ]
        },
    )

    data = await fetch_digitalocean_costs(
        DigitalOceanPricingSource(url=f"{stub.url}/catalog"), client
    )

    assert data.values == {"good": 2.0, "meta/good": 2.0}
    assert data.skipped == ("half-priced", "data[3]", "data[4]")


async def test_digitalocean_follows_pagination_links(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/catalog",
        {"data": [catalog_entry("a", "X", 1, 1)], "links": {"pages": {"next": "/catalog/2"}}},
    )
    stub.reply(
        "/catalog/2",
        {"data": [catalog_entry("b", "X", 2, 2)], "links": {"pages": {"next": None}}},
    )

    data = await fetch_digitalocean_costs(
        DigitalOceanPricingSource(url=f"{stub.url}/catalog"), client
    )

    assert data.values["a"] == 2.0
    assert data.values["b"] == 4.0
    assert [request.path for request in stub.requests] == ["/catalog", "/catalog/2"]


async def test_digitalocean_pagination_cannot_loop(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/catalog",
        {"data": [catalog_entry("a", "X", 1, 1)], "links": {"pages": {"next": "/catalog"}}},
    )

    data = await fetch_digitalocean_costs(
        DigitalOceanPricingSource(url=f"{stub.url}/catalog"), client
    )

    assert data.values["a"] == 2.0
    assert len(stub.requests) == 1


async def test_digitalocean_pagination_is_capped(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    for page in range(MAX_PAGES + 5):
        stub.reply(
            f"/catalog/{page}",
            {
                "data": [catalog_entry(f"m{page}", "X", 1, 1)],
                "links": {"pages": {"next": f"/catalog/{page + 1}"}},
            },
        )

    data = await fetch_digitalocean_costs(
        DigitalOceanPricingSource(url=f"{stub.url}/catalog/0"), client
    )

    assert len(stub.requests) == MAX_PAGES
    assert f"m{MAX_PAGES - 1}" in data.values
    assert f"m{MAX_PAGES}" not in data.values


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"models": []}, 200, "'data' list"),
        ({"data": {"model_id": "x"}}, 200, "'data' list"),
        ("[]", 200, "'data' list"),
        ("<html>", 200, "not JSON"),
        ("upstream down", 503, "HTTP 503: upstream down"),
    ],
)
async def test_digitalocean_rejects_unusable_answers(
    stub: StubServer, client: httpx.AsyncClient, body: object, status: int, message: str
) -> None:
    stub.reply("/catalog", body, status=status)

    with pytest.raises(MetricsSourceError, match=message):
        await fetch_digitalocean_costs(DigitalOceanPricingSource(url=f"{stub.url}/catalog"), client)


# --- prometheus_metrics -------------------------------------------------------------------


async def test_prometheus_reads_model_name_series(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/api/v1/query",
        vector(
            ({"model_name": "openai/gpt-4o"}, "1.2"),
            ({"model_name": "anthropic/claude-sonnet-4-20250514"}, "0.85"),
        ),
    )
    source = PrometheusLatencySource(url=f"{stub.url}/", query="model_latency_p95_seconds")

    data = await fetch_prometheus_latencies(source, client)

    assert data.values == {"openai/gpt-4o": 1.2, "anthropic/claude-sonnet-4-20250514": 0.85}
    assert stub.requests[0].path == "/api/v1/query"
    assert stub.requests[0].query == {"query": "model_latency_p95_seconds"}


async def test_prometheus_keeps_the_slowest_of_duplicate_series(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    stub.reply(
        "/api/v1/query",
        vector(
            ({"model_name": "m", "instance": "a"}, "0.5"),
            ({"model_name": "m", "instance": "b"}, "0.9"),
            ({"model_name": "m", "instance": "c"}, "0.7"),
        ),
    )

    data = await fetch_prometheus_latencies(PrometheusLatencySource(stub.url, "q"), client)

    assert data.values == {"m": 0.9}


async def test_prometheus_skips_unusable_series(
    stub: StubServer, client: httpx.AsyncClient
) -> None:
    payload = vector(
        ({"model_name": "good"}, "0.4"),
        ({"model_name": "no-samples"}, "NaN"),
        ({"job": "unlabelled"}, "0.3"),
        ({"model_name": "garbage"}, "fast"),
    )
    payload["data"]["result"].extend(  # type: ignore[index]
        [{"metric": {"model_name": "short"}, "value": [1.0]}, "not-a-series"]
    )
    stub.reply("/api/v1/query", payload)

    data = await fetch_prometheus_latencies(PrometheusLatencySource(stub.url, "q"), client)

    assert data.values == {"good": 0.4}
    assert data.skipped == ("no-samples", "result[2]", "garbage", "short", "result[5]")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"},
            200,
            "query failed: parse error at char 3",
        ),
        ({"status": "pending"}, 200, "status 'pending'"),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, 200, "'vector'"),
        ({"status": "success", "data": {"resultType": "vector", "result": {}}}, 200, "a list"),
        ({"status": "success"}, 200, "'vector'"),
        ("[]", 200, "JSON object"),
        ('{"status":"error","error":"bad query"}', 400, "HTTP 400: .*bad query"),
    ],
)
async def test_prometheus_rejects_unusable_answers(
    stub: StubServer, client: httpx.AsyncClient, body: object, status: int, message: str
) -> None:
    stub.reply("/api/v1/query", body, status=status)

    with pytest.raises(MetricsSourceError, match=message):
        await fetch_prometheus_latencies(PrometheusLatencySource(stub.url, "q"), client)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, 1.0), (0.5, 0.5), ("2.5", 2.5), (0, 0.0)]
    + [(bad, None) for bad in (True, None, "x", "inf", "-1", -0.1, float("nan"), [1], {})],
)
def test_as_metric(raw: object, expected: float | None) -> None:
    assert as_metric(raw) == expected
