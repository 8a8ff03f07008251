"""What the three metrics sources share: one bounded JSON GET, one error type, value checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import orjson

_BODY_EXCERPT_CHARS = 200


class MetricsSourceError(Exception):
    """A source did not answer, or answered with something that is not its documented format."""


@dataclass(frozen=True, slots=True)
class FetchTimeouts:
    """Seconds to connect, and for a whole fetch (all requests and parsing) to finish."""

    connect: float = 5.0
    total: float = 30.0

    def for_client(self) -> httpx.Timeout:
        return httpx.Timeout(self.total, connect=self.connect)


DEFAULT_TIMEOUTS = FetchTimeouts()


@dataclass(frozen=True, slots=True)
class SourceData:
    """One successful fetch: model → value, plus the names of entries that were unusable."""

    values: dict[str, float]
    skipped: tuple[str, ...] = ()


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> object:
    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise MetricsSourceError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        excerpt = response.text[:_BODY_EXCERPT_CHARS]
        raise MetricsSourceError(f"GET {url}: HTTP {response.status_code}: {excerpt}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise MetricsSourceError(f"GET {url}: body is not JSON: {exc}") from exc


def as_metric(raw: object) -> float | None:
    """A finite, non-negative number (Prometheus sends them as strings), else None."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def price_sum(prices: object, input_key: str, output_key: str) -> float | None:
    """Input + output price per million tokens, or None unless both are valid numbers."""
    if not isinstance(prices, dict):
        return None
    input_price = as_metric(prices.get(input_key))
    output_price = as_metric(prices.get(output_key))
    if input_price is None or output_price is None:
        return None
    return input_price + output_price
