"""What ranking reads from the metrics sources: per-model cost and latency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ModelMetrics(Protocol):
    """Latest known per-model numbers, keyed by the config's model string (``openai/gpt-4o``)."""

    def cost(self, model: str) -> float | None: ...

    def latency(self, model: str) -> float | None: ...


class StaticMetrics:
    """Fixed numbers: used when no source is configured, and in tests."""

    def __init__(
        self, costs: Mapping[str, float] | None = None, latencies: Mapping[str, float] | None = None
    ) -> None:
        self._costs = dict(costs or {})
        self._latencies = dict(latencies or {})

    def cost(self, model: str) -> float | None:
        return self._costs.get(model)

    def latency(self, model: str) -> float | None:
        return self._latencies.get(model)
