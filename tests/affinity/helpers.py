from __future__ import annotations

from prometheus_client import REGISTRY


class RedisErrorCounts:
    """`counts(operation)`: plano_affinity_errors_total{backend="redis"} added since creation."""

    def __init__(self) -> None:
        self._baseline = {op: self._read(op) for op in ("get", "put", "decode")}

    def __call__(self, operation: str) -> float:
        return self._read(operation) - self._baseline[operation]

    @staticmethod
    def _read(operation: str) -> float:
        labels = {"backend": "redis", "operation": operation}
        return REGISTRY.get_sample_value("plano_affinity_errors_total", labels) or 0.0
