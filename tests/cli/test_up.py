"""`plano-extproc up`: the Envoy command line it builds."""

from __future__ import annotations

import argparse
from pathlib import Path

from plano_extproc.cli.up import _envoy_command


def _args(base_id: int | None) -> argparse.Namespace:
    return argparse.Namespace(envoy_log_level="warn", base_id=base_id)


def test_envoy_picks_a_free_base_id_by_default() -> None:
    command = _envoy_command(_args(None), "envoy", Path("e.yaml"))
    assert command[-1] == "--use-dynamic-base-id"
    assert "--base-id" not in command


def test_a_base_id_can_be_fixed() -> None:
    command = _envoy_command(_args(7), "envoy", Path("e.yaml"))
    assert command[-2:] == ["--base-id", "7"]
    assert "--use-dynamic-base-id" not in command
