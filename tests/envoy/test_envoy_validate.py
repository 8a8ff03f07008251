"""Every kind of generated config is accepted by the real Envoy (`envoy --mode validate`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plano_extproc.config import Config
from plano_extproc.envoy.options import EnvoyOptions
from plano_extproc.envoy.render import render_envoy_yaml
from tests.envoy.support import (
    ENVOY,
    HTTPS_PROVIDERS,
    LOCAL_PROVIDERS,
    TIMED_PROVIDERS,
    classifier_timeout,
    config_from,
    example_config,
    listener,
    validate,
)

pytestmark = pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed")

CASES: dict[str, tuple[Callable[[], Config], EnvoyOptions]] = {
    "example": (example_config, {}),
    "https_providers": (lambda: config_from(HTTPS_PROVIDERS), {}),
    "local_providers": (lambda: config_from(LOCAL_PROVIDERS), {"admin_port": None}),
    "three_workers_by_name": (
        lambda: config_from(LOCAL_PROVIDERS, listeners=listener(10000, "120s", "0.0.0.0")),
        {"extproc_ports": (7001, 7002, 7003), "extproc_host": "localhost"},
    ),
    "attempt_timeouts": (lambda: config_from(TIMED_PROVIDERS), {}),
    "slow_classifier": (
        lambda: config_from(HTTPS_PROVIDERS, routing=classifier_timeout(2000)),
        {"extproc_ports": (50051, 50052)},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_envoy_accepts_the_generated_config(case: str, tmp_path: Path) -> None:
    build, options = CASES[case]
    config_file = tmp_path / "envoy.yaml"
    config_file.write_text(render_envoy_yaml(build(), **options))
    result = validate(config_file)
    assert result.returncode == 0, result.stdout + result.stderr
