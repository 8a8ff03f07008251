"""`plano-extproc up` keeps Envoy when the ext_proc service dies, and starts the service again."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from plano_extproc.cli.up import installed_executable
from tests.e2e.test_up_side_by_side import REQUEST, _config
from tests.support.ports import free_ports
from tests.support.processes import ManagedProcess, child_pids, http_ok

pytestmark = pytest.mark.e2e

RECOVERY_TIMEOUT_SECONDS = 60.0


def _process_named(parent: int, word: str) -> int:
    """The child whose program (envoy) or subcommand (serve) is `word`."""
    for pid in child_pids(parent):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        if Path(argv[0]).name == word or word in argv[1:5]:
            return pid
    raise AssertionError(f"no child of {parent} runs {word}")


def test_envoy_outlives_a_dead_ext_proc_which_comes_back(tmp_path: Path) -> None:
    executable = installed_executable("plano-extproc")
    if executable is None:
        pytest.fail("plano-extproc is not installed (make install)")
    listener, extproc = free_ports(2)
    config = _config(tmp_path / "config.yaml", listener)
    command = [executable, "up", "--config", str(config), "--extproc-port", str(extproc)]
    up = ManagedProcess("up", [*command, "--admin-port", "0"], tmp_path)
    up.start()
    try:
        up.wait_ready(http_ok(f"http://127.0.0.1:{listener}/healthz"), timeout_s=90)
        envoy = _process_named(up.pid, "envoy")
        service = _process_named(up.pid, "serve")

        os.kill(service, signal.SIGKILL)
        url = f"http://127.0.0.1:{listener}/routing/v1/chat/completions"
        deadline = time.monotonic() + RECOVERY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if httpx.post(url, json=REQUEST, timeout=10).status_code == 200:
                break
            time.sleep(0.2)

        assert httpx.post(url, json=REQUEST, timeout=10).status_code == 200, up.log_tail()
        assert up.running
        assert _process_named(up.pid, "envoy") == envoy
        assert _process_named(up.pid, "serve") != service
    finally:
        up.stop()
