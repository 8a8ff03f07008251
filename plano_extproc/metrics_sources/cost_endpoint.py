"""`cost_metrics`: an operator's own pricing endpoint.

``GET url`` (``Authorization: Bearer <token>`` when a token is set) answers
``{"<model>": {"input_per_million": f, "output_per_million": f}, ...}`` keyed by config model.
"""

from __future__ import annotations

import httpx

from plano_extproc.config.model import CostEndpointSource
from plano_extproc.metrics_sources.fetch import (
    MetricsSourceError,
    SourceData,
    get_json,
    price_sum,
)


async def fetch_endpoint_costs(source: CostEndpointSource, client: httpx.AsyncClient) -> SourceData:
    headers = {"Authorization": f"Bearer {source.token}"} if source.token else None
    return parse_cost_table(await get_json(client, source.url, headers=headers))


def parse_cost_table(payload: object) -> SourceData:
    if not isinstance(payload, dict):
        raise MetricsSourceError("cost table: expected a JSON object keyed by model")
    costs: dict[str, float] = {}
    skipped: list[str] = []
    for model, prices in payload.items():
        cost = price_sum(prices, "input_per_million", "output_per_million")
        if cost is None:
            skipped.append(model)
        else:
            costs[model] = cost
    return SourceData(costs, tuple(skipped))
