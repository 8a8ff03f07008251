"""Per-model cost and latency for ranking, fetched from the configured metrics sources."""

from plano_extproc.metrics_sources.base import ModelMetrics, StaticMetrics
from plano_extproc.metrics_sources.fetch import FetchTimeouts, MetricsSourceError
from plano_extproc.metrics_sources.store import MetricsStore

__all__ = ["FetchTimeouts", "MetricsSourceError", "MetricsStore", "ModelMetrics", "StaticMetrics"]
