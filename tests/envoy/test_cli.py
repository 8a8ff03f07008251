"""`plano-extproc envoy-config`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plano_extproc.cli.main import main
from plano_extproc.envoy.render import render_envoy_yaml
from tests.envoy.support import EXAMPLE, example_config


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["envoy-config", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def extproc_ports(rendered: str) -> list[int]:
    clusters = yaml.safe_load(rendered)["static_resources"]["clusters"]
    extproc = next(c for c in clusters if c["name"] == "plano_extproc")
    endpoints = extproc["load_assignment"]["endpoints"][0]["lb_endpoints"]
    return [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints]


def test_prints_the_config_for_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(EXAMPLE))
    assert (status, err) == (0, "")
    assert out == render_envoy_yaml(example_config())


def test_workers_listen_on_consecutive_ports(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, str(EXAMPLE), "--extproc-port", "6000", "--workers", "3", "--admin-port", "0"
    )
    assert status == 0
    assert extproc_ports(out) == [6000, 6001, 6002]
    assert "admin" not in yaml.safe_load(out)


def test_config_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: v0.4.0\nmodel_providers: []\nbogus: 1\n")
    status, out, err = run(capsys, str(broken))
    assert (status, out) == (2, "")
    assert "problem" in err


def test_workers_past_the_last_port_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(EXAMPLE), "--extproc-port", "65535", "--workers", "2")
    assert (status, out) == (2, "")
    assert "65535" in err


def test_output_writes_the_file_and_prints_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "envoy.yaml"
    status, out, err = run(capsys, str(EXAMPLE), "--output", str(target))
    assert (status, out, err) == (0, "", "")
    assert target.read_text() == render_envoy_yaml(example_config())
