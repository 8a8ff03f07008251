"""`prometheus_metrics`: per-model latency from an instant query.

``GET {url}/api/v1/query?query=...`` must answer an instant vector whose series carry a
``model_name`` label (the config model). A model present in several series (one per
replica, say) keeps its highest value: ranking on the slowest replica is the safe reading.
"""

from __future__ import annotations

import httpx

from plano_extproc.config.model import PrometheusLatencySource
from plano_extproc.metrics_sources.fetch import (
    MetricsSourceError,
    SourceData,
    as_metric,
    get_json,
)


async def fetch_prometheus_latencies(
    source: PrometheusLatencySource, client: httpx.AsyncClient
) -> SourceData:
    url = f"{source.url.rstrip('/')}/api/v1/query"
    return parse_instant_vector(await get_json(client, url, params={"query": source.query}))


def parse_instant_vector(payload: object) -> SourceData:
    result = _vector_result(payload)
    latencies: dict[str, float] = {}
    skipped: list[str] = []
    for index, series in enumerate(result):
        model, value = _series_sample(series)
        if model is None or value is None:
            skipped.append(model or f"result[{index}]")
        else:
            latencies[model] = max(value, latencies.get(model, value))
    return SourceData(latencies, tuple(skipped))


def _vector_result(payload: object) -> list[object]:
    if not isinstance(payload, dict):
        raise MetricsSourceError("prometheus: expected a JSON object")
    if payload.get("status") != "success":
        reason = payload.get("error") or f"status {payload.get('status')!r}"
        raise MetricsSourceError(f"prometheus: query failed: {reason}")
    data = payload.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector":
        raise MetricsSourceError("prometheus: expected data.resultType 'vector'")
    result = data.get("result")
    if not isinstance(result, list):
        raise MetricsSourceError("prometheus: expected data.result to be a list")
    return result


def _series_sample(series: object) -> tuple[str | None, float | None]:
    """The series' `model_name` label and its sample value (``[timestamp, "value"]``)."""
    if not isinstance(series, dict):
        return None, None
    labels = series.get("metric")
    model = labels.get("model_name") if isinstance(labels, dict) else None
    sample = series.get("value")
    value = as_metric(sample[1]) if isinstance(sample, list) and len(sample) == 2 else None
    return (model if isinstance(model, str) and model else None), value
