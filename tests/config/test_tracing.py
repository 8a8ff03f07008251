"""The `tracing` section: off by default or at zero sampling, its endpoint and sampling, and invalid
settings."""

from __future__ import annotations

import pytest

from plano_extproc.config import ConfigError, TracingSettings
from tests.config.support import MINIMAL, load


def test_tracing_is_off_without_the_section_or_at_zero_sampling() -> None:
    assert load(MINIMAL).tracing is None
    assert load(MINIMAL + "    tracing: {random_sampling: 0}\n").tracing is None


def test_tracing_endpoint_and_sampling() -> None:
    config = load(
        MINIMAL
        + "    tracing: {random_sampling: 12.5, opentracing_grpc_endpoint: 'http://otel:4317'}\n"
    )

    assert config.tracing == TracingSettings("http://otel:4317", 12.5)


@pytest.mark.parametrize(
    ("tracing", "problem"),
    [
        ("{random_sampling: 101}", "tracing.random_sampling: must be a percentage, 0 to 100"),
        (
            "{opentracing_grpc_endpoint: 'otel:4317'}",
            "tracing.opentracing_grpc_endpoint: must start",
        ),
        ("{random_sampling: all}", "tracing.random_sampling: must be a number"),
    ],
)
def test_bad_tracing_settings_are_reported(tracing: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(MINIMAL + f"    tracing: {tracing}\n")

    assert any(str(issue).startswith(problem) for issue in raised.value.issues), raised.value
