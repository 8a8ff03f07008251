"""The live cost/latency numbers ranking reads, kept fresh by one refresh loop per source.

A refresh that fails (no answer, bad payload, or a payload with no usable entry) keeps the
last good numbers and marks the source stale; the next good refresh clears it. Reads are
plain dict lookups on the request path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

import httpx

from plano_extproc.config.model import (
    Config,
    CostEndpointSource,
    CostSource,
    DigitalOceanPricingSource,
    MetricsSource,
    PrometheusLatencySource,
    Route,
    SelectionPolicy,
)
from plano_extproc.metrics_sources.cost_endpoint import fetch_endpoint_costs
from plano_extproc.metrics_sources.digitalocean import fetch_digitalocean_costs
from plano_extproc.metrics_sources.fetch import (
    DEFAULT_TIMEOUTS,
    FetchTimeouts,
    MetricsSourceError,
    SourceData,
)
from plano_extproc.metrics_sources.prometheus import fetch_prometheus_latencies
from plano_extproc.telemetry.metrics import METRICS_SOURCE_REFRESHES, METRICS_SOURCE_STALE

log = logging.getLogger(__name__)

Fetch = Callable[[httpx.AsyncClient], Awaitable[SourceData]]

_SKIPPED_NAMES_SHOWN = 10


@dataclass(slots=True)
class _Feed:
    """One source: how to fetch it, and what its last good fetch returned."""

    name: str
    fetch: Fetch
    interval: float
    values: Mapping[str, float] = field(default_factory=dict)
    stale: bool = False
    reported_skips: frozenset[str] = frozenset()


def _feed_for(source: MetricsSource) -> _Feed:
    fetch: Fetch
    match source:
        case DigitalOceanPricingSource():
            name, fetch = "digitalocean_pricing", partial(fetch_digitalocean_costs, source)
        case CostEndpointSource():
            name, fetch = "cost_metrics", partial(fetch_endpoint_costs, source)
        case PrometheusLatencySource():
            name, fetch = "prometheus_metrics", partial(fetch_prometheus_latencies, source)
    return _Feed(name, fetch, source.refresh_interval)


class MetricsStore:
    """`ModelMetrics` backed by at most one cost source and one latency source."""

    def __init__(
        self,
        cost_source: CostSource | None = None,
        latency_source: PrometheusLatencySource | None = None,
        *,
        timeouts: FetchTimeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self._cost = _feed_for(cost_source) if cost_source else None
        self._latency = _feed_for(latency_source) if latency_source else None
        self._feeds = tuple(feed for feed in (self._cost, self._latency) if feed)
        self._timeouts = timeouts
        self._client: httpx.AsyncClient | None = None
        self._loops: list[asyncio.Task[None]] = []

    @classmethod
    def from_config(
        cls, config: Config, *, timeouts: FetchTimeouts = DEFAULT_TIMEOUTS
    ) -> MetricsStore:
        return cls(config.cost_source, config.latency_source, timeouts=timeouts)

    def cost(self, model: str) -> float | None:
        return self._cost.values.get(model) if self._cost else None

    def latency(self, model: str) -> float | None:
        return self._latency.values.get(model) if self._latency else None

    async def start(self) -> None:
        """Fetch every source once (bounded by the total timeout; a failure only logs), then
        refresh each one every `refresh_interval` seconds in the background."""
        if not self._feeds:
            return
        self._client = httpx.AsyncClient(timeout=self._timeouts.for_client())
        await self.refresh()
        self._loops = [
            asyncio.create_task(
                self._refresh_forever(feed, self._client), name=f"metrics-refresh-{feed.name}"
            )
            for feed in self._feeds
        ]

    async def refresh(self) -> None:
        """Fetch every source once, concurrently. Never raises for a source's failure."""
        client = self._client
        if client is None:
            raise RuntimeError("MetricsStore.refresh() needs start() first")
        await asyncio.gather(*(self._refresh(feed, client) for feed in self._feeds))

    async def close(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def models_without_data(self, routes: Iterable[Route]) -> dict[str, tuple[str, ...]]:
        """Model → the metrics (``cost``/``latency``) its `cheapest`/`fastest` routes lack."""
        needs = {
            SelectionPolicy.CHEAPEST: ("cost", self.cost),
            SelectionPolicy.FASTEST: ("latency", self.latency),
        }
        missing: dict[str, tuple[str, ...]] = {}
        for route in routes:
            if route.policy not in needs:
                continue
            metric, value_of = needs[route.policy]
            for model in route.models:
                lacking = missing.get(model, ())
                if metric not in lacking and value_of(model) is None:
                    missing[model] = (*lacking, metric)
        return missing

    def warn_models_without_data(self, routes: Iterable[Route]) -> None:
        """One warning per model a ranked route will have to put last; call once at startup."""
        for model, metrics in self.models_without_data(routes).items():
            log.warning(
                "model %s has no %s data: routes ranking by it will place it last",
                model,
                " or ".join(metrics),
            )

    async def _refresh_forever(self, feed: _Feed, client: httpx.AsyncClient) -> None:
        while True:
            await asyncio.sleep(feed.interval)
            await self._refresh(feed, client)

    async def _refresh(self, feed: _Feed, client: httpx.AsyncClient) -> None:
        try:
            async with asyncio.timeout(self._timeouts.total):
                data = await feed.fetch(client)
            if not data.values:
                raise MetricsSourceError("no usable entry in the answer")
        except Exception as exc:  # a refresh loop must outlive any one bad answer
            self._record_failure(feed, exc)
        else:
            self._record_success(feed, data)

    def _record_failure(self, feed: _Feed, exc: Exception) -> None:
        feed.stale = True
        METRICS_SOURCE_REFRESHES.labels(feed.name, "error").inc()
        METRICS_SOURCE_STALE.labels(feed.name).set(1)
        log.warning(
            "metrics source %s: refresh failed (%s); keeping %d last-good values",
            feed.name,
            _describe(exc, self._timeouts.total),
            len(feed.values),
            exc_info=not isinstance(exc, MetricsSourceError | TimeoutError),
        )

    def _record_success(self, feed: _Feed, data: SourceData) -> None:
        if feed.stale:
            log.info("metrics source %s: recovered", feed.name)
        feed.values = data.values
        feed.stale = False
        METRICS_SOURCE_REFRESHES.labels(feed.name, "ok").inc()
        METRICS_SOURCE_STALE.labels(feed.name).set(0)
        log.debug("metrics source %s: %d values", feed.name, len(data.values))
        _report_skipped(feed, frozenset(data.skipped))


def _report_skipped(feed: _Feed, skipped: frozenset[str]) -> None:
    """Warn when the set of unusable entries changes; repeats of the same set go to DEBUG."""
    if skipped:
        shown = ", ".join(sorted(skipped)[:_SKIPPED_NAMES_SHOWN])
        level = logging.DEBUG if skipped == feed.reported_skips else logging.WARNING
        log.log(
            level,
            "metrics source %s: skipped %d unusable entries: %s",
            feed.name,
            len(skipped),
            shown,
        )
    feed.reported_skips = skipped


def _describe(exc: Exception, total_timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no complete answer within {total_timeout:g}s"
    return str(exc) or type(exc).__name__
