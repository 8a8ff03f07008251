"""SIGTERM to `plano-extproc up` drains: a translated stream that is open (it needs the ext_proc
for every chunk) finishes whole, then both processes stop."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from plano_extproc.cli.up import installed_executable
from tests.support.ports import free_ports
from tests.support.processes import ManagedProcess, http_ok
from tests.support.upstream import StreamReply, running_upstream

pytestmark = pytest.mark.e2e

MODEL = "anthropic/claude-3-5-haiku-latest"
# Eight gaps of 2.5 s between the Messages stream's events: a 20 s answer.
PIECES = tuple(f"piece-{index} " for index in range(4))
INTERVAL_S = 2.5
SIGTERM_AFTER_S = 3.0


def _config(path: Path, listener: int, upstream_url: str) -> Path:
    config = {
        "version": "v0.4.0",
        "listeners": [
            {"type": "model", "name": "egress", "address": "127.0.0.1", "port": listener,
             "timeout": "60s"}
        ],
        "model_providers": [
            {"model": MODEL, "access_key": "test-key", "base_url": upstream_url,
             "upstream_api": "messages", "default": True}
        ],
        "routing": {"classifier": {"type": "lexical"}},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_sigterm_lets_an_open_translated_stream_finish(tmp_path: Path) -> None:
    executable = installed_executable("plano-extproc")
    if executable is None:
        pytest.fail("plano-extproc is not installed (make install)")
    listener, extproc, admin = free_ports(3)
    with running_upstream() as upstream:
        upstream.script("/v1/messages", StreamReply(PIECES, interval_s=INTERVAL_S))
        config = _config(tmp_path / "config.yaml", listener, upstream.url)
        command = [executable, "up", "--config", str(config), "--extproc-port", str(extproc)]
        up = ManagedProcess("up", [*command, "--admin-port", str(admin)], tmp_path)
        up.start()
        try:
            up.wait_ready(http_ok(f"http://127.0.0.1:{listener}/healthz"), timeout_s=90)
            body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
            text, started = "", time.monotonic()
            stopper = threading.Timer(SIGTERM_AFTER_S, os.kill, (up.pid, signal.SIGTERM))
            with httpx.stream(
                "POST", f"http://127.0.0.1:{listener}/v1/chat/completions", json=body, timeout=60
            ) as response:
                stopper.start()
                for line in response.iter_lines():
                    text += line + "\n"
            elapsed = time.monotonic() - started
            deadline = time.monotonic() + 30
            while up.running and time.monotonic() < deadline:
                time.sleep(0.2)
            exited = not up.running
        finally:
            code = up.stop()
    assert response.status_code == 200
    assert all(piece.strip() in text for piece in PIECES), up.log_tail()
    assert "data: [DONE]" in text, up.log_tail()
    assert elapsed > SIGTERM_AFTER_S + 10  # the stream went on well after the signal
    assert exited, up.log_tail()
    assert code == 0, up.log_tail()
