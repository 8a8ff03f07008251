"""`plano.routing` spans: trace ids, parents, sampling and attributes (in-memory exporter)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from plano_extproc.config import load_config_text
from plano_extproc.config.model import Config, TracingSettings
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.routing.decision import (
    CHARGED,
    CHECKED,
    NO_ROUTE_MODEL,
    BudgetCheck,
    Decision,
    DecisionTiming,
    Fallback,
)
from plano_extproc.routing.otel_spans import (
    MAX_ATTRIBUTE_CHARS,
    SPAN_NAME,
    RoutingSpans,
    otlp_exporter,
    tracer_provider,
)
from plano_extproc.telemetry.trace import TraceParent, new_trace_id
from plano_extproc.wire.conversation import ParsedRequest
from plano_extproc.wire.ir import Role, Text, Transcript, Turn

CONFIG = """\
version: v0.4.0
model_providers:
  - {model: openai/gpt-4o-mini, access_key: k, default: true}
  - {model: anthropic/claude-sonnet-4-20250514, access_key: k}
  - {model: mistral/mistral-large-latest, access_key: k}
  - {model: google/*, access_key: k}
  - {model: corp/llama, access_key: k, base_url: 'http://corp:8000', provider_interface: openai}
model_aliases: {fast: {target: openai/gpt-4o-mini}}
routing_preferences:
  - {name: code, description: writing code, models: [anthropic/claude-sonnet-4-20250514]}
routing: {classifier: {type: lexical}}
tracing: {random_sampling: %s}
"""
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TIMING = DecisionTiming(1_000_000_000, 1_004_000_000, 0.0031)


def config(sampling: float = 100) -> Config:
    return load_config_text(CONFIG % sampling, {})


def parsed(model: str | None = None, api: ClientApi = ClientApi.CHAT) -> ParsedRequest:
    transcript = Transcript((Turn(Role.USER, (Text("hi"),)),))
    return ParsedRequest(api, model, transcript, False, None, {})


def routed(trace_id: str = TRACE_ID) -> Decision:
    return Decision(("anthropic/claude-sonnet-4-20250514",), "code", trace_id, "s-1")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def spans_for(exporter: InMemorySpanExporter, sampling: float = 100) -> Iterator[RoutingSpans]:
    settings = config(sampling)
    assert settings.tracing is not None
    spans = RoutingSpans(settings, tracer_provider(settings.tracing, exporter))
    yield spans
    spans.close()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[RoutingSpans]:
    yield from spans_for(exporter)


def finished(spans: RoutingSpans, exporter: InMemorySpanExporter) -> list:
    spans.close()  # flushes the batch processor
    return list(exporter.get_finished_spans())


def test_a_root_span_takes_the_decisions_trace_id_and_times(
    spans: RoutingSpans, exporter: InMemorySpanExporter
) -> None:
    spans.record(parsed(), routed(), None, TIMING)
    (span,) = finished(spans, exporter)
    assert span.name == SPAN_NAME
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is None
    assert (span.start_time, span.end_time) == (TIMING.start_ns, TIMING.end_ns)
    assert span.resource.attributes["service.name"] == "plano-extproc"


def test_a_span_continues_its_parents_trace(
    spans: RoutingSpans, exporter: InMemorySpanExporter
) -> None:
    parent = TraceParent(TRACE_ID, "00f067aa0ba902b7", sampled=True)
    spans.record(parsed(), routed(), parent, TIMING)
    (span,) = finished(spans, exporter)
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.parent.is_remote


def test_attributes_name_the_route_models_classifier_and_gen_ai_fields(
    spans: RoutingSpans, exporter: InMemorySpanExporter
) -> None:
    spans.record(parsed("fast", ClientApi.MESSAGES), routed(), None, TIMING)
    (span,) = finished(spans, exporter)
    assert dict(span.attributes) == {
        "plano.route": "code",
        "plano.models": ("anthropic/claude-sonnet-4-20250514",),
        "plano.pinned": False,
        "plano.classifier.name": "lexical",
        "plano.classifier.latency_ms": 3.1,
        "plano.client_api": "messages",
        "plano.session_id": "s-1",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "anthropic/claude-sonnet-4-20250514",
        "gen_ai.provider.name": "anthropic",
    }


@pytest.mark.parametrize(
    ("requested", "served", "provider"),
    [
        ("fast", "openai/gpt-4o-mini", "openai"),
        ("mistral/mistral-large-latest", "mistral/mistral-large-latest", "mistral_ai"),
        (None, "openai/gpt-4o-mini", "openai"),
        ("google/gemini-9-preview", "google/gemini-9-preview", "gcp.gemini"),
        ("corp/llama", "corp/llama", "corp"),
    ],
)
def test_a_fallback_names_the_model_the_request_goes_to(
    spans: RoutingSpans,
    exporter: InMemorySpanExporter,
    requested: str | None,
    served: str,
    provider: str,
) -> None:
    fell_back = Decision((NO_ROUTE_MODEL,), None, TRACE_ID, fallback=Fallback.TIMEOUT)
    spans.record(parsed(requested), fell_back, None, TIMING)
    (span,) = finished(spans, exporter)
    assert span.attributes["plano.fallback_reason"] == "timeout"
    assert "plano.route" not in span.attributes
    assert (span.attributes["gen_ai.request.model"], span.attributes["gen_ai.provider.name"]) == (
        served,
        provider,
    )


def test_an_unsampled_parent_is_followed(exporter: InMemorySpanExporter) -> None:
    for spans in spans_for(exporter):
        spans.record(parsed(), routed(), TraceParent(TRACE_ID, "1" * 16, sampled=False), TIMING)
        assert finished(spans, exporter) == []


def test_root_spans_are_sampled_at_the_configured_rate(exporter: InMemorySpanExporter) -> None:
    for spans in spans_for(exporter, sampling=25):
        for _ in range(400):
            spans.record(parsed(), routed(new_trace_id()), None, TIMING)
        kept = len(finished(spans, exporter))
    assert 40 < kept < 160, kept


def test_tracing_settings_default_to_local_collector_and_every_trace() -> None:
    assert TracingSettings() == TracingSettings("http://localhost:4317", 100.0)


def test_a_collector_that_is_down_is_reported_once_not_per_export(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = TracingSettings("http://127.0.0.1:1", 100.0)
    exporter = otlp_exporter(settings)
    provider = tracer_provider(settings, exporter)
    spans = RoutingSpans(config(), provider)
    for _ in range(2):
        spans.record(parsed(), routed(), None, TIMING)
        provider.force_flush()
    spans.close()
    failures = [
        r for r in caplog.records if "span export to http://127.0.0.1:1 failed" in r.message
    ]
    assert len(failures) == 1


def test_client_strings_in_attributes_are_bounded(
    spans: RoutingSpans, exporter: InMemorySpanExporter
) -> None:
    huge = "s" * 20_000
    fell_back = Decision((NO_ROUTE_MODEL,), None, TRACE_ID, huge, fallback=Fallback.ERROR)
    spans.record(parsed("m" * 20_000), fell_back, None, TIMING)
    (span,) = finished(spans, exporter)
    assert span.attributes["plano.session_id"] == "s" * MAX_ATTRIBUTE_CHARS
    assert span.attributes["gen_ai.request.model"] == "m" * MAX_ATTRIBUTE_CHARS


def test_an_authenticated_client_is_named_on_its_span(
    spans: RoutingSpans, exporter: InMemorySpanExporter
) -> None:
    decision = Decision(("openai/gpt-4o-mini",), None, TRACE_ID, identity="team-a")

    spans.record(parsed(), decision, None, TIMING)

    (span,) = finished(spans, exporter)
    assert span.attributes["plano.client.identity"] == "team-a"


def test_the_rate_limits_outcome_is_on_the_span(
    spans: RoutingSpans, exporter: InMemorySpanExporter
) -> None:
    base = Decision(("openai/gpt-4o-mini",), None, TRACE_ID)
    charged = dataclasses.replace(base, budget=BudgetCheck(CHARGED, 42))
    checked = dataclasses.replace(base, budget=BudgetCheck(CHECKED, out_of_budget=("a/b",)))

    spans.record(parsed(), charged, None, TIMING)
    spans.record(parsed(), checked, None, TIMING)
    spans.record(parsed(), base, None, TIMING)

    first, second, third = finished(spans, exporter)
    assert first.attributes["plano.ratelimit.outcome"] == "charged"
    assert first.attributes["plano.ratelimit.tokens"] == 42
    assert "plano.ratelimit.out_of_budget" not in first.attributes
    assert second.attributes["plano.ratelimit.out_of_budget"] == ("a/b",)
    assert "plano.ratelimit.outcome" not in third.attributes
