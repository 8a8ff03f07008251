"""`plano-extproc up`: the Envoy command line it builds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from plano_extproc.cli.main import build_parser, main
from plano_extproc.cli.up import _envoy_command, _serve_command, installed_executable


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


def _config_on(tmp_path: Path, address: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: v0.4.0\n"
        f"listeners: [{{type: model, name: l, address: {address}, port: 12000}}]\n"
        "model_providers: [{model: openai/gpt-4o, access_key: k}]\n"
    )
    return config


def test_up_warns_once_about_an_open_listener_and_serve_is_told_not_to_repeat_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_on(tmp_path, "0.0.0.0")
    assert main(["up", "--config", str(config), "--envoy", "no-such-envoy-binary"]) == 2
    err = capsys.readouterr().err
    assert err.count("accepts requests from any client") == 1
    assert err.startswith("[up] warning: listener 0.0.0.0:12000 ")
    args = build_parser().parse_args(["up", "--config", str(config)])
    serve = _serve_command(args)
    assert build_parser().parse_args(serve[serve.index("serve") :]).no_open_listener_warning


def test_up_is_quiet_about_a_loopback_listener(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_on(tmp_path, "127.0.0.1")
    assert main(["up", "--config", str(config), "--envoy", "no-such-envoy-binary"]) == 2
    assert "warning" not in capsys.readouterr().err
