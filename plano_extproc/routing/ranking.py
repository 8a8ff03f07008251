"""Order a route's candidate models by its selection policy (best first)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from plano_extproc.config.model import SelectionPolicy
from plano_extproc.metrics_sources.base import ModelMetrics

_SHARED_RNG = random.Random()


def rank(
    models: Sequence[str],
    policy: SelectionPolicy,
    metrics: ModelMetrics,
    rng: random.Random | None = None,
) -> tuple[str, ...]:
    """`none` keeps config order, `cheapest`/`fastest` sort ascending by cost/latency (stable;
    models without data last, in config order), `random` shuffles on every call."""
    if policy is SelectionPolicy.CHEAPEST:
        return _ascending(models, metrics.cost)
    if policy is SelectionPolicy.FASTEST:
        return _ascending(models, metrics.latency)
    if policy is SelectionPolicy.RANDOM:
        shuffled = list(models)
        (rng or _SHARED_RNG).shuffle(shuffled)
        return tuple(shuffled)
    return tuple(models)


def _ascending(models: Sequence[str], value_of: Callable[[str], float | None]) -> tuple[str, ...]:
    measured: list[tuple[float, str]] = []
    unmeasured: list[str] = []
    for model in models:
        value = value_of(model)
        if value is None or math.isnan(value):
            unmeasured.append(model)
        else:
            measured.append((value, model))
    measured.sort(key=_by_value)
    return (*(model for _, model in measured), *unmeasured)


def _by_value(item: tuple[float, str]) -> float:
    return item[0]
