"""Two `plano-extproc up` on one host: each Envoy takes a free shared-memory base id, so the
second gateway starts and both answer (with a fixed base id 0 for both, the second would fail)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import yaml

from plano_extproc.cli.up import installed_executable
from tests.support.ports import free_ports
from tests.support.processes import ManagedProcess, http_ok

pytestmark = pytest.mark.e2e

LEXICAL_CONFIG = Path(__file__).parents[1] / "cli" / "lexical.yaml"
REQUEST = {"messages": [{"role": "user", "content": "Write a function that sorts a list"}]}


def _config(path: Path, listener_port: int) -> Path:
    config = yaml.safe_load(LEXICAL_CONFIG.read_text(encoding="utf-8"))
    config["listeners"] = [
        {"type": "model", "name": "egress_traffic", "address": "127.0.0.1", "port": listener_port}
    ]
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_two_gateways_run_side_by_side(tmp_path: Path) -> None:
    executable = installed_executable("plano-extproc")
    if executable is None:
        pytest.fail("plano-extproc is not installed (make install)")
    listeners = free_ports(2)
    extprocs = free_ports(2)
    with ExitStack() as stack:
        for index, (listener, extproc) in enumerate(zip(listeners, extprocs, strict=True)):
            workdir = tmp_path / f"gateway{index}"
            workdir.mkdir()
            config = _config(workdir / "config.yaml", listener)
            up = ManagedProcess(
                f"up{index}",
                [
                    executable,
                    "up",
                    "--config",
                    str(config),
                    "--extproc-port",
                    str(extproc),
                    "--admin-port",
                    "0",
                ],
                workdir,
            )
            up.start()
            stack.callback(up.stop)
            up.wait_ready(http_ok(f"http://127.0.0.1:{listener}/healthz"), timeout_s=90)
        for listener in listeners:
            reply = httpx.post(
                f"http://127.0.0.1:{listener}/routing/v1/chat/completions", json=REQUEST, timeout=10
            )
            assert reply.status_code == 200
            assert reply.json()["route"] == "code_generation"
