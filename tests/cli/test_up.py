"""`plano-extproc up`: the Envoy command line it builds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from plano_extproc.cli.up import _envoy_command, installed_executable


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


def _executable(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_environments_own_binary_wins_over_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A virtual environment used without activation: its bin/ is not on PATH.
    own = _executable(tmp_path / "venv" / "bin", "envoy")
    _executable(tmp_path / "elsewhere", "envoy")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert installed_executable("envoy") == str(own)


def test_path_is_searched_when_the_environment_lacks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = _executable(tmp_path / "elsewhere", "envoy")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert installed_executable("envoy") == str(on_path)
    assert installed_executable("no-such-binary") is None
