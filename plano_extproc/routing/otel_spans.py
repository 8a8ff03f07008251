"""`plano.routing` spans with the OpenTelemetry SDK, exported over OTLP/gRPC.

Imported only when the config has a `tracing` section (`routing/tracing.py`), and only
importable with the `otel` extra installed.

The span continues the trace the request arrived in: under Envoy's span for the ext_proc call
when Envoy traces (it sends that span's `traceparent` on the gRPC stream), else under the client's
`traceparent`, else as the root of the decision's own trace id. It is recorded after the
decision with its real start and end times; the SDK's batch processor exports it from its own
thread, through a bounded queue.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from plano_extproc.config.model import Config, TracingSettings
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.resilience import WarningThrottle
from plano_extproc.routing.decision import CHECKED, NO_ROUTE_MODEL, Decision, DecisionTiming
from plano_extproc.telemetry.trace import TraceParent
from plano_extproc.wire.conversation import ParsedRequest

log = logging.getLogger(__name__)

SPAN_NAME = "plano.routing"
SERVICE_NAME = "plano-extproc"
INSTRUMENTATION_SCOPE = "plano_extproc.routing"
# Spans waiting for export; past this the SDK drops new ones rather than grow.
MAX_QUEUED_SPANS = 4096
EXPORT_TIMEOUT_SECONDS = 5.0
# Session ids and requested model names come from clients: a string attribute is cut here, so a
# 60 KiB header cannot become 60 KiB in every exported span.
MAX_ATTRIBUTE_CHARS = 256
# GenAI semantic conventions name some providers differently from Plano's prefixes.
# By provider family (so `google/` is Gemini too), as the GenAI conventions name them.
GEN_AI_PROVIDER_NAMES = MappingProxyType(
    {
        "mistral": "mistral_ai",
        "xai": "x_ai",
        "gemini": "gcp.gemini",
        "amazon_bedrock": "aws.bedrock",
        "azure_openai": "azure.ai.openai",
    }
)
EXPORT_WARNING_INTERVAL_SECONDS = 60.0
# The OTLP exporter warns at every failed attempt; a collector that is down says so once a
# minute through `_ThrottledExporter` instead.
OTLP_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.grpc.exporter"
# Every client API is a chat exchange in the GenAI conventions' terms.
GEN_AI_OPERATIONS = MappingProxyType(
    {ClientApi.CHAT: "chat", ClientApi.MESSAGES: "chat", ClientApi.RESPONSES: "chat"}
)

# The trace id the next root span takes: the decision's, so the response's `trace_id` names it.
_next_trace_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "plano_next_trace_id", default=None
)


class _DecisionTraceIds(RandomIdGenerator):
    """Root spans take the decision's trace id; span ids stay random."""

    def generate_trace_id(self) -> int:
        return _next_trace_id.get() or super().generate_trace_id()


class _ThrottledExporter(SpanExporter):
    """The OTLP exporter, reporting failed exports at most once a minute."""

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self._inner = inner
        self._endpoint = endpoint
        self._warnings = WarningThrottle(EXPORT_WARNING_INTERVAL_SECONDS, time.monotonic, log)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self._warnings.resolved(f"span export to {self._endpoint} works again")
        else:
            self._warnings.warn("span export to %s failed; spans dropped", self._endpoint)
        return result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._inner.shutdown()


def otlp_exporter(settings: TracingSettings) -> SpanExporter:
    endpoint = urlsplit(settings.endpoint)
    logging.getLogger(OTLP_EXPORTER_LOGGER).setLevel(logging.ERROR)
    exporter = OTLPSpanExporter(
        endpoint=endpoint.netloc,
        insecure=endpoint.scheme == "http",
        timeout=EXPORT_TIMEOUT_SECONDS,
    )
    return _ThrottledExporter(exporter, settings.endpoint)


def tracer_provider(settings: TracingSettings, exporter: SpanExporter) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE_NAME}),
        sampler=ParentBased(TraceIdRatioBased(settings.sampling_percent / 100)),
        id_generator=_DecisionTraceIds(),
        span_limits=SpanLimits(max_span_attribute_length=MAX_ATTRIBUTE_CHARS),
    )
    processor = BatchSpanProcessor(
        exporter,
        max_queue_size=MAX_QUEUED_SPANS,
        export_timeout_millis=int(EXPORT_TIMEOUT_SECONDS * 1000),
    )
    provider.add_span_processor(processor)
    return provider


def _parent_context(parent: TraceParent | None) -> trace.Context | None:
    if parent is None:
        return None
    flags = trace.TraceFlags(
        trace.TraceFlags.SAMPLED if parent.sampled else trace.TraceFlags.DEFAULT
    )
    remote = trace.SpanContext(int(parent.trace_id, 16), int(parent.span_id, 16), True, flags)
    return trace.set_span_in_context(trace.NonRecordingSpan(remote))


class RoutingSpans:
    """Records one `plano.routing` span per decision (the engine's DecisionRecorder)."""

    def __init__(self, config: Config, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer(INSTRUMENTATION_SCOPE)
        self._classifier = config.routing.classifier.type.value
        # Models served by wildcard entries included.
        self._providers = config.provider_by_name
        self._aliases = config.aliases
        default = config.default_provider
        self._default_model = default.name if default is not None else None

    @classmethod
    def for_config(cls, config: Config) -> RoutingSpans:
        assert config.tracing is not None
        return cls(config, tracer_provider(config.tracing, otlp_exporter(config.tracing)))

    def record(
        self,
        request: ParsedRequest,
        decision: Decision,
        parent: TraceParent | None,
        timing: DecisionTiming,
    ) -> None:
        token = _next_trace_id.set(int(decision.trace_id, 16))
        try:
            span = self._tracer.start_span(
                SPAN_NAME,
                context=_parent_context(parent),
                kind=trace.SpanKind.INTERNAL,
                attributes=self.attributes(request, decision, timing),
                start_time=timing.start_ns,
            )
        finally:
            _next_trace_id.reset(token)
        span.end(end_time=timing.end_ns)

    def attributes(
        self, request: ParsedRequest, decision: Decision, timing: DecisionTiming
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "plano.models": list(decision.models),
            "plano.pinned": decision.pinned,
            "plano.classifier.name": self._classifier,
            "plano.client_api": request.api.value,
            "gen_ai.operation.name": GEN_AI_OPERATIONS[request.api],
        }
        if decision.route is not None:
            attributes["plano.route"] = decision.route
        if timing.classify_seconds is not None:
            attributes["plano.classifier.latency_ms"] = round(timing.classify_seconds * 1000, 3)
        if decision.fallback is not None:
            attributes["plano.fallback_reason"] = decision.fallback.value
        if decision.session_id is not None:
            attributes["plano.session_id"] = decision.session_id
        if decision.identity is not None:
            attributes["plano.client.identity"] = decision.identity
        if decision.budget is not None:
            attributes["plano.ratelimit.outcome"] = decision.budget.outcome
            if decision.budget.tokens:
                attributes["plano.ratelimit.tokens"] = decision.budget.tokens
            if decision.budget.outcome == CHECKED:
                attributes["plano.ratelimit.out_of_budget"] = list(decision.budget.out_of_budget)
        model = self._served_model(request, decision)
        if model is not None:
            attributes["gen_ai.request.model"] = model
            served = self._providers.get(model)
            if served is not None:
                # A server behind a provider_interface is named by its own prefix.
                name = served.provider if served.provider_interface else served.family.name
                attributes["gen_ai.provider.name"] = GEN_AI_PROVIDER_NAMES.get(name, name)
        return attributes

    def _served_model(self, request: ParsedRequest, decision: Decision) -> str | None:
        """The model the request goes to: the best ranked one, else the requested or default."""
        if decision.models and decision.models[0] != NO_ROUTE_MODEL:
            return decision.models[0]
        if request.model:
            return self._aliases.get(request.model, request.model)
        return self._default_model

    def close(self) -> None:
        """Exports what is queued (within the export timeout), then stops the exporter."""
        self._provider.shutdown()
