from __future__ import annotations

import logging
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from plano_extproc.cli.main import build_parser
from plano_extproc.cli.serve import _worker_command, log_warnings
from plano_extproc.config import load_config_text
from tests.support.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]


def test_serve_exposes_prometheus_metrics(tmp_path: Path) -> None:
    grpc_port, metrics_port = free_ports(2)
    command = [sys.executable, "-m", "plano_extproc.cli.main", "serve"]
    command += ["--config", str(ROOT / "tests/cli/lexical.yaml"), "--port", str(grpc_port)]
    command += ["--metrics-port", str(metrics_port), "--allow-missing-keys"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as reply:
                    body = reply.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "# TYPE plano_routing_decisions_total counter" in body
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_serve_with_invalid_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("version: v0.4.0\nmodel_providers: []\n")
    command = [sys.executable, "-m", "plano_extproc.cli.main", "serve", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "model_providers" in result.stderr


OPEN_CONFIG = """\
version: v0.4.0
listeners: [{type: model, name: l, address: 0.0.0.0, port: 12000}]
model_providers: [{model: openai/gpt-4o, access_key: k}]
"""


def test_serve_warns_once_about_an_open_listener_and_its_workers_do_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = load_config_text(OPEN_CONFIG, {})
    with caplog.at_level(logging.WARNING, logger="plano_extproc"):
        log_warnings(config, open_listener=True)
        log_warnings(config, open_listener=False)
    (record,) = caplog.records
    assert record.getMessage().startswith("listener 0.0.0.0:12000 accepts requests from any")


def test_worker_processes_are_told_not_to_repeat_the_warning() -> None:
    args = build_parser().parse_args(["serve", "--config", "c.yaml", "--workers", "2"])
    assert args.no_open_listener_warning is False
    command = _worker_command(args, 1)
    worker = build_parser().parse_args(command[command.index("serve") :])
    assert worker.no_open_listener_warning is True
    assert worker.port == args.port + 1
