"""Whether routing decisions are traced: the config's `tracing` section and the `otel` extra.

Without a `tracing` section nothing is imported and the engine records nothing: tracing off
costs one `is None` test per decision. With one but without the extra (a Plano config brought
as is), Envoy still traces and the ext_proc says once at start that its spans are missing.
"""

from __future__ import annotations

import logging

from plano_extproc.config.model import Config
from plano_extproc.routing.engine import DecisionRecorder

log = logging.getLogger(__name__)

MISSING_EXTRA = (
    "tracing is configured but OpenTelemetry is not installed, so the ext_proc's plano.routing "
    "spans are off (Envoy's are not): pip install 'plano-extproc[otel]'"
)


def decision_recorder(config: Config) -> DecisionRecorder | None:
    if config.tracing is None:
        return None
    try:
        from plano_extproc.telemetry.otel_spans import RoutingSpans
    except ImportError:
        log.warning(MISSING_EXTRA)
        return None
    return RoutingSpans.for_config(config)
