"""MetricsStore: startup, refresh, last-good-on-failure, staleness, warnings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from prometheus_client import REGISTRY

from plano_extproc.config.model import (
    Config,
    CostEndpointSource,
    DigitalOceanPricingSource,
    PrometheusLatencySource,
    Route,
    SelectionPolicy,
)
from plano_extproc.metrics_sources import FetchTimeouts, MetricsStore, ModelMetrics
from plano_extproc.metrics_sources import store as store_module
from tests.metrics_sources.conftest import StubServer

SHORT = FetchTimeouts(connect=0.5, total=0.5)
BOUND = 10.0  # generous cap on anything that must merely "not hang"
STORE_LOGGER = "plano_extproc.metrics_sources.store"


def costs(**prices: float) -> dict[str, dict[str, float]]:
    return {
        model: {"input_per_million": price, "output_per_million": 0.0}
        for model, price in prices.items()
    }


def latency_vector(**seconds: float) -> dict[str, object]:
    result = [{"metric": {"model_name": m}, "value": [0, str(s)]} for m, s in seconds.items()]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def stale(source: str) -> float | None:
    return REGISTRY.get_sample_value("plano_metrics_source_stale", {"source": source})


def refreshes(source: str, result: str) -> float:
    labels = {"source": source, "result": result}
    return REGISTRY.get_sample_value("plano_metrics_source_refreshes_total", labels) or 0.0


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(BOUND):
        while not condition():  # noqa: ASYNC110 - the state changes in the store / server thread
            await asyncio.sleep(0.01)


@asynccontextmanager
async def started(store: MetricsStore) -> AsyncIterator[MetricsStore]:
    try:
        async with asyncio.timeout(BOUND):
            await store.start()
        yield store
    finally:
        await store.close()


def cost_store(stub: StubServer, interval: float = 3600.0) -> MetricsStore:
    source = CostEndpointSource(url=f"{stub.url}/costs", token="t", refresh_interval=interval)
    return MetricsStore(cost_source=source, timeouts=SHORT)


async def test_start_loads_cost_and_latency(stub: StubServer) -> None:
    stub.reply("/costs", costs(a=1.0, b=2.0))
    stub.reply("/api/v1/query", latency_vector(a=0.3))
    store = MetricsStore(
        CostEndpointSource(url=f"{stub.url}/costs"),
        PrometheusLatencySource(url=stub.url, query="q"),
        timeouts=SHORT,
    )

    async with started(store):
        assert (store.cost("a"), store.cost("b"), store.cost("zz")) == (1.0, 2.0, None)
        assert (store.latency("a"), store.latency("b")) == (0.3, None)
        assert stale("cost_metrics") == 0
        assert stale("prometheus_metrics") == 0


async def test_store_is_model_metrics() -> None:
    metrics: ModelMetrics = MetricsStore()
    assert metrics.cost("a") is None
    assert metrics.latency("a") is None


async def test_from_config_uses_the_configs_sources(stub: StubServer) -> None:
    stub.reply(
        "/catalog",
        {
            "data": [
                {
                    "model_id": "m",
                    "creator": "Acme",
                    "pricing": {"input_price_per_million": 1, "output_price_per_million": 1},
                }
            ]
        },
    )
    stub.reply("/api/v1/query", latency_vector(m=0.1))
    config = Config(
        version="v0.4.0",
        providers=(),
        metrics_sources=(
            DigitalOceanPricingSource(url=f"{stub.url}/catalog"),
            PrometheusLatencySource(url=stub.url, query="q"),
        ),
    )

    async with started(MetricsStore.from_config(config, timeouts=SHORT)) as store:
        assert store.cost("acme/m") == 2.0
        assert store.latency("m") == 0.1


async def test_no_sources_start_and_close_are_no_ops() -> None:
    async with started(MetricsStore()) as store:
        assert store.cost("a") is None


async def test_refresh_before_start_is_an_error() -> None:
    store = MetricsStore(cost_source=CostEndpointSource(url="http://127.0.0.1:1/costs"))
    with pytest.raises(RuntimeError, match="start"):
        await store.refresh()


async def test_failed_refresh_keeps_last_good_and_marks_stale_then_recovers(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    stub.reply("/costs", costs(a=1.0))
    async with started(cost_store(stub)) as store:
        errors_before = refreshes("cost_metrics", "error")

        stub.reply("/costs", "down", status=500)
        with caplog.at_level(logging.WARNING, STORE_LOGGER):
            await store.refresh()

        assert store.cost("a") == 1.0
        assert stale("cost_metrics") == 1
        assert refreshes("cost_metrics", "error") == errors_before + 1
        assert "HTTP 500" in caplog.text
        assert "keeping 1 last-good values" in caplog.text

        ok_before = refreshes("cost_metrics", "ok")
        stub.reply("/costs", costs(a=4.0))
        await store.refresh()

        assert store.cost("a") == 4.0
        assert stale("cost_metrics") == 0
        assert refreshes("cost_metrics", "ok") == ok_before + 1


async def test_an_answer_with_no_usable_entry_does_not_wipe_data(stub: StubServer) -> None:
    stub.reply("/costs", costs(a=1.0))
    async with started(cost_store(stub)) as store:
        stub.reply("/costs", {"a": {"input_per_million": "?"}})
        await store.refresh()
        assert store.cost("a") == 1.0
        assert stale("cost_metrics") == 1

        stub.reply("/costs", {})
        await store.refresh()
        assert store.cost("a") == 1.0


async def test_a_model_dropped_by_a_good_refresh_loses_its_data(stub: StubServer) -> None:
    stub.reply("/costs", costs(a=1.0, b=2.0))
    async with started(cost_store(stub)) as store:
        stub.reply("/costs", costs(b=3.0))
        await store.refresh()
        assert (store.cost("a"), store.cost("b")) == (None, 3.0)


async def test_refresh_loop_picks_up_new_values(stub: StubServer) -> None:
    stub.reply("/costs", costs(a=1.0))
    async with started(cost_store(stub, interval=0.02)) as store:
        stub.reply("/costs", costs(a=7.0))
        await wait_until(lambda: store.cost("a") == 7.0)

        stub.reply("/costs", "nope", status=502)
        await wait_until(lambda: stale("cost_metrics") == 1)
        assert store.cost("a") == 7.0


async def test_close_stops_the_refresh_loops(stub: StubServer) -> None:
    stub.reply("/costs", costs(a=1.0))
    store = cost_store(stub, interval=0.01)
    async with started(store):
        await wait_until(lambda: len(stub.requests) >= 3)

    seen = len(stub.requests)
    await asyncio.sleep(0.1)
    assert len(stub.requests) == seen
    await store.close()  # a second close is harmless


async def test_unreachable_source_at_startup_starts_without_data(
    closed_port_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = MetricsStore(
        latency_source=PrometheusLatencySource(url=closed_port_url, query="q"), timeouts=SHORT
    )
    with caplog.at_level(logging.WARNING, STORE_LOGGER):
        async with started(store):
            assert store.latency("a") is None
            assert stale("prometheus_metrics") == 1

    assert "prometheus_metrics: refresh failed" in caplog.text
    assert "keeping 0 last-good values" in caplog.text


async def test_startup_is_bounded_by_the_total_timeout_not_just_per_read(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Every page answers within the per-read timeout; only the whole-fetch bound ends it.
    for page in range(30):
        next_page = {"pages": {"next": f"/catalog/{page + 1}"}}
        stub.reply(f"/catalog/{page}", {"data": [], "links": next_page}, delay=0.1)
    source = DigitalOceanPricingSource(url=f"{stub.url}/catalog/0")
    store = MetricsStore(cost_source=source, timeouts=FetchTimeouts(connect=0.5, total=0.35))

    with caplog.at_level(logging.WARNING, STORE_LOGGER):
        async with started(store):
            assert store.cost("a") is None

    assert "no complete answer within 0.35s" in caplog.text
    assert len(stub.requests) < 30


async def test_a_source_that_never_answers_does_not_block_startup(stub: StubServer) -> None:
    stub.reply("/api/v1/query", latency_vector(a=1), delay=60)
    source = PrometheusLatencySource(url=stub.url, query="q")

    async with started(MetricsStore(latency_source=source, timeouts=SHORT)) as store:
        assert store.latency("a") is None
        assert stale("prometheus_metrics") == 1


async def test_unexpected_fetch_failure_is_logged_with_traceback_and_survived(
    stub: StubServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken_fetch(source: object, client: object) -> None:
        raise KeyError("parser bug")

    monkeypatch.setattr(store_module, "fetch_endpoint_costs", broken_fetch)
    with caplog.at_level(logging.WARNING, STORE_LOGGER):
        async with started(cost_store(stub)) as store:
            assert store.cost("a") is None

    (record,) = [r for r in caplog.records if "refresh failed" in r.getMessage()]
    assert record.exc_info is not None
    assert "parser bug" in record.getMessage()


async def test_skipped_entries_warn_once_per_distinct_set(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    body = {**costs(a=1.0), "bad": {"input_per_million": "x"}}
    stub.reply("/costs", body)

    def skip_logs(level: int) -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == level and "unusable entries" in r.getMessage()
        ]

    with caplog.at_level(logging.DEBUG, STORE_LOGGER):
        async with started(cost_store(stub)) as store:
            await store.refresh()
            await store.refresh()
            assert len(skip_logs(logging.WARNING)) == 1
            assert len(skip_logs(logging.DEBUG)) == 2
            assert "skipped 1 unusable entries: bad" in skip_logs(logging.WARNING)[0]

            stub.reply("/costs", {**body, "worse": 3})
            await store.refresh()
            assert len(skip_logs(logging.WARNING)) == 2
            assert store.cost("a") == 1.0


async def test_warns_once_per_model_lacking_data_for_its_ranked_routes(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    stub.reply("/costs", costs(priced=1.0))
    stub.reply("/api/v1/query", latency_vector(timed=0.2))
    routes = (
        Route("a", "cheap things", ("priced", "unpriced", "nothing"), SelectionPolicy.CHEAPEST),
        Route("b", "more cheap things", ("unpriced", "priced"), SelectionPolicy.CHEAPEST),
        Route("c", "fast things", ("timed", "nothing", "priced"), SelectionPolicy.FASTEST),
        Route("d", "anything", ("unranked",), SelectionPolicy.NONE),
        Route("e", "lottery", ("unranked",), SelectionPolicy.RANDOM),
    )
    store = MetricsStore(
        CostEndpointSource(url=f"{stub.url}/costs"),
        PrometheusLatencySource(url=stub.url, query="q"),
        timeouts=SHORT,
    )

    async with started(store):
        assert store.models_without_data(routes) == {
            "unpriced": ("cost",),
            "nothing": ("cost", "latency"),
            "priced": ("latency",),
        }
        with caplog.at_level(logging.WARNING, STORE_LOGGER):
            store.warn_models_without_data(routes)

    warnings = [r.getMessage() for r in caplog.records if "routes ranking by it" in r.getMessage()]
    assert warnings == [
        "model unpriced has no cost data: routes ranking by it will place it last",
        "model nothing has no cost or latency data: routes ranking by it will place it last",
        "model priced has no latency data: routes ranking by it will place it last",
    ]
