"""Real processes under test: started with their output in a log file, waited for until ready,
and always stopped.

    with managed_process("envoy", ["envoy", "-c", cfg], workdir, ready=http_ok(url)) as envoy:
        ...

Each process leads its own process group, so stopping it also stops any workers it forked.
A process that exits early or is not ready in time fails with the tail of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ReadyCheck = Callable[[], bool]

READY_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.05
_PROBE_TIMEOUT_SECONDS = 1.0
_LOG_TAIL_LINES = 60


class ProcessError(RuntimeError):
    pass


class ManagedProcess:
    def __init__(
        self,
        name: str,
        args: Sequence[str],
        workdir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.workdir = workdir
        self.env = dict(env) if env is not None else None
        self.log_path = workdir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._require_started().pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self._process is not None:
            raise ProcessError(f"{self.name} is already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.args,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, check: ReadyCheck, timeout_s: float = READY_TIMEOUT_SECONDS) -> None:
        """Polls `check` until it passes; fails with the log tail on early exit or timeout."""
        process = self._require_started()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProcessError(self._report(f"exited with code {process.returncode}"))
            if check():
                return
            time.sleep(_POLL_SECONDS)
        raise ProcessError(self._report(f"not ready after {timeout_s:g}s"))

    def stop(self, grace_s: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM to the process group, SIGKILL after `grace_s`; returns the exit code."""
        if self._process is None:
            return None
        process, self._process = self._process, None
        self._signal_group(process, signal.SIGTERM)
        try:
            return process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._signal_group(process, signal.SIGKILL)
            return process.wait()
        finally:
            # Workers may outlive a leader that exited on SIGTERM.
            self._signal_group(process, signal.SIGKILL)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _require_started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise ProcessError(f"{self.name} is not started")
        return self._process

    def _report(self, problem: str) -> str:
        return (
            f"{self.name} {problem}: {' '.join(self.args)}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


@contextmanager
def managed_process(
    name: str,
    args: Sequence[str],
    workdir: Path,
    *,
    ready: ReadyCheck,
    env: Mapping[str, str] | None = None,
    timeout_s: float = READY_TIMEOUT_SECONDS,
) -> Iterator[ManagedProcess]:
    """A started and ready process, stopped on exit whatever happens inside."""
    process = ManagedProcess(name, args, workdir, env)
    process.start()
    try:
        process.wait_ready(ready, timeout_s)
        yield process
    finally:
        process.stop()


def port_open(port: int, host: str = "127.0.0.1") -> ReadyCheck:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_SECONDS):
                return True
        except OSError:
            return False

    return check


def http_ok(url: str) -> ReadyCheck:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT_SECONDS) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return check


def grpc_serving(port: int, service: str = "", host: str = "127.0.0.1") -> ReadyCheck:
    """gRPC health checking reports SERVING for `service` ("" is the whole server)."""

    def check() -> bool:
        with grpc.insecure_channel(f"{host}:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = stub.Check(
                    health_pb2.HealthCheckRequest(service=service),
                    timeout=_PROBE_TIMEOUT_SECONDS,
                )
            except grpc.RpcError:
                return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    return check


def all_of(*checks: ReadyCheck) -> ReadyCheck:
    return lambda: all(check() for check in checks)


def child_pids(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is `pid`, in pid order, from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            # Fields after the command name (which may hold spaces): state, then ppid.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(entry.name))
    return sorted(children)
