from __future__ import annotations

from prometheus_client import REGISTRY

from plano_extproc.ratelimit.gcra import Quota

USER = Quota(10, 60.0)
TEAM = Quota(4, 1.0)  # an interval of 0.25 s: exact in binary


class StoreErrorCounts:
    """`counts(operation)`: plano_ratelimit_store_errors_total{backend="redis"} added since
    creation."""

    def __init__(self) -> None:
        self._baseline = {op: self._read(op) for op in ("take", "adjust", "available")}

    def __call__(self, operation: str) -> float:
        return self._read(operation) - self._baseline[operation]

    @staticmethod
    def _read(operation: str) -> float:
        labels = {"backend": "redis", "operation": operation}
        return REGISTRY.get_sample_value("plano_ratelimit_store_errors_total", labels) or 0.0
