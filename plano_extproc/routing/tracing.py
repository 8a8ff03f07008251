"""Whether routing decisions are traced: the config's `tracing` section and the `otel` extra.

Without a `tracing` section nothing is imported and the engine records nothing: tracing off
costs one `is None` test per decision. With one but without the extra (a Plano config brought
as is), or with an install that cannot be imported, Envoy still traces and the ext_proc says once
at start that its spans are off, and why.
"""

from __future__ import annotations

import logging

from plano_extproc.config.model import Config
from plano_extproc.routing.engine import DecisionRecorder

log = logging.getLogger(__name__)

SPANS_OFF = (
    "tracing is configured but the ext_proc's plano.routing spans are off (Envoy's are not): "
)


def spans_off_warning(error: ImportError) -> str:
    """Why the OpenTelemetry exporter could not be imported, and what to do about it."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("opentelemetry"):
        return f"{SPANS_OFF}{error.name} is not installed: pip install 'plano-extproc[otel]'"
    # Installed but broken: e.g. a package that ships its own old copy of opentelemetry-proto's
    # modules (xds-protos does) installed over the real ones.
    return (
        f"{SPANS_OFF}the OpenTelemetry exporter cannot be imported ({error}); check that no "
        "other package overwrote its modules (pip install --force-reinstall opentelemetry-proto)"
    )


def decision_recorder(config: Config) -> DecisionRecorder | None:
    if config.tracing is None:
        return None
    try:
        from plano_extproc.routing.otel_spans import RoutingSpans
    except ImportError as error:
        log.warning(spans_off_warning(error))
        return None
    return RoutingSpans.for_config(config)
