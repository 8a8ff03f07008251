from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
