"""Whether decisions are traced: off without a `tracing` section; a warning that says why when
the exporter cannot be imported."""

from __future__ import annotations

import sys
import types

import pytest

from plano_extproc.config import load_config_text
from plano_extproc.routing.otel_spans import RoutingSpans
from plano_extproc.routing.tracing import SPANS_OFF, decision_recorder

BASE = "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o-mini, access_key: k}]\n"


def test_no_tracing_section_means_no_recorder_and_no_sdk_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "plano_extproc.routing.otel_spans", None)
    assert decision_recorder(load_config_text(BASE, {})) is None


def test_tracing_section_gives_an_otlp_span_recorder() -> None:
    config = load_config_text(BASE + "tracing: {random_sampling: 50}\n", {})
    recorder = decision_recorder(config)
    assert isinstance(recorder, RoutingSpans)
    recorder.close()


def _forget_otel_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the next import of the spans module import OpenTelemetry afresh."""
    for name in list(sys.modules):
        if name.startswith(("opentelemetry", "plano_extproc.routing.otel_spans")):
            monkeypatch.delitem(sys.modules, name)


def _traced_config():  # type: ignore[no-untyped-def]
    return load_config_text(BASE + "tracing: {random_sampling: 100}\n", {})


def test_a_missing_extra_is_a_warning_not_a_failed_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _forget_otel_modules(monkeypatch)
    # A None entry makes `import opentelemetry` fail as it does without the extra.
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    assert decision_recorder(_traced_config()) is None
    assert SPANS_OFF in caplog.text
    assert "opentelemetry is not installed: pip install 'plano-extproc[otel]'" in caplog.text


def test_a_broken_install_is_named_with_its_import_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What xds-protos' old copy of opentelemetry-proto did: the module is there, without
    # the names the exporter imports.
    _forget_otel_modules(monkeypatch)
    old_copy = types.ModuleType("opentelemetry.proto.common.v1.common_pb2")
    monkeypatch.setitem(sys.modules, old_copy.__name__, old_copy)
    assert decision_recorder(_traced_config()) is None
    assert SPANS_OFF in caplog.text
    assert "cannot import name" in caplog.text
    assert "not installed" not in caplog.text
