"""The managed-process helper and port allocation, with trivial Python processes."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port_block, free_ports
from tests.support.processes import (
    ManagedProcess,
    ProcessError,
    all_of,
    http_ok,
    managed_process,
    port_open,
)

pytestmark = pytest.mark.e2e

# Prints the pid of a child it forks, then both sleep; SIGTERM is ignored when asked to.
_PARENT_WITH_CHILD = """
import signal, subprocess, sys, time
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print("child", child.pid, flush=True)
time.sleep(300)
"""


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state says it is gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _ends_soon(pid: int, timeout_s: float = 5.0) -> bool:
    """Whether `pid` is gone within `timeout_s`: a SIGKILLed process takes a moment to die on a
    loaded machine."""
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _child_pid(process: ManagedProcess) -> int:
    return int(process.log_tail().split()[1])


def test_ready_process_serves_and_is_stopped(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    args = _python("-m", "http.server", str(port), "--bind", "127.0.0.1")

    with managed_process("web", args, tmp_path, ready=http_ok(f"http://127.0.0.1:{port}/")) as web:
        assert web.running
        assert port_open(port)()

    assert not web.running
    assert not port_open(port)()


def test_early_exit_fails_with_the_log_tail(tmp_path: Path) -> None:
    args = _python("-c", "import sys; print('bad config: xyz'); sys.exit(3)")
    process = ManagedProcess("broken", args, tmp_path)
    process.start()

    with pytest.raises(ProcessError, match=r"(?s)exited with code 3.*bad config: xyz"):
        process.wait_ready(lambda: False)
    process.stop()


def test_not_ready_in_time_fails_with_the_log_tail(tmp_path: Path) -> None:
    args = _python("-c", "print('still loading', flush=True); import time; time.sleep(60)")
    process = ManagedProcess("idle", args, tmp_path)
    process.start()
    process.wait_ready(lambda: "loading" in process.log_tail())

    with pytest.raises(ProcessError, match=r"(?s)not ready after 0.1s.*idle.log.*still loading"):
        process.wait_ready(lambda: False, timeout_s=0.1)
    process.stop()


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    process = ManagedProcess("parent", _python("-c", _PARENT_WITH_CHILD), tmp_path)
    process.start()
    process.wait_ready(lambda: "child" in process.log_tail())
    child = _child_pid(process)

    process.stop()

    assert _ends_soon(child)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    args = _python("-c", _PARENT_WITH_CHILD, "--ignore-term")
    process = ManagedProcess("stubborn", args, tmp_path)
    process.start()
    process.wait_ready(lambda: "child" in process.log_tail())
    pid = process.pid

    assert process.stop(grace_s=0.2) == -9
    assert not _alive(pid)


def test_failing_test_body_still_stops_the_process(tmp_path: Path) -> None:
    pids: list[int] = []

    def failing_test() -> None:
        args = _python("-c", "import time; time.sleep(60)")
        with managed_process("sleeper", args, tmp_path, ready=lambda: True) as sleeper:
            pids.append(sleeper.pid)
            raise RuntimeError("test failed")

    with pytest.raises(RuntimeError, match="test failed"):
        failing_test()

    assert not _alive(pids[0])


def test_all_of_needs_every_check() -> None:
    assert all_of(lambda: True, lambda: True)()
    assert not all_of(lambda: True, lambda: False)()


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)

    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_free_port_block_is_consecutive_and_bindable() -> None:
    base = free_port_block(3)

    sockets = [socket.socket() for _ in range(3)]
    try:
        for offset, sock in enumerate(sockets):
            sock.bind(("127.0.0.1", base + offset))
    finally:
        for sock in sockets:
            sock.close()
