"""Whether decisions are traced: off without a `tracing` section, a warning without the extra."""

from __future__ import annotations

import sys

import pytest

from plano_extproc.config import load_config_text
from plano_extproc.telemetry.otel_spans import RoutingSpans
from plano_extproc.telemetry.tracing import MISSING_EXTRA, decision_recorder

BASE = "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o-mini, access_key: k}]\n"


def test_no_tracing_section_means_no_recorder_and_no_sdk_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "plano_extproc.telemetry.otel_spans", None)
    assert decision_recorder(load_config_text(BASE, {})) is None


def test_tracing_section_gives_an_otlp_span_recorder() -> None:
    config = load_config_text(BASE + "tracing: {random_sampling: 50}\n", {})
    recorder = decision_recorder(config)
    assert isinstance(recorder, RoutingSpans)
    recorder.close()


def test_a_missing_extra_is_a_warning_not_a_failed_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A None entry makes `import` of that module raise ImportError, as without the extra.
    monkeypatch.setitem(sys.modules, "plano_extproc.telemetry.otel_spans", None)
    config = load_config_text(BASE + "tracing: {random_sampling: 100}\n", {})
    assert decision_recorder(config) is None
    assert MISSING_EXTRA in caplog.text
