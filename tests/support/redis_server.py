"""A real, throwaway ``redis-server`` for tests (no persistence, loopback only, its own temp dir).

Use the context manager from a fixture; it skips the test when the binary is missing and always
kills the server on exit::

    @pytest.fixture
    def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
        with running_redis_server(tmp_path) as server:
            yield server

``kill()`` / ``start()`` simulate an outage and a restart on the same port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

STARTUP_TIMEOUT_SECONDS = 10.0
_PORT_ATTEMPTS = 3


class RedisServerError(RuntimeError):
    pass


class RedisServer:
    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        self.binary = binary
        self.port = port
        self.workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    def client(self) -> redis.Redis:
        """A synchronous client for assertions (TTL, raw values)."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2.0)

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        if self._process is not None:
            raise RedisServerError("redis-server is already running")
        self._process = subprocess.Popen(
            self._command(),
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the server (an abrupt outage); a no-op when it is not running."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    def _command(self) -> list[str]:
        # ``--save ""`` disables snapshots; every restart starts empty.
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.log_path),
        ]  # fmt: skip

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RedisServerError(f"redis-server exited early; see {self.log_path}")
            if self._answers_ping():
                return
            time.sleep(0.02)
        raise RedisServerError(f"redis-server not ready in {STARTUP_TIMEOUT_SECONDS}s")

    def _answers_ping(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_redis_server(workdir: Path) -> Iterator[RedisServer]:
    """A started server in `workdir`; skips the test when ``redis-server`` is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not found")
    server = _start_on_free_port(binary, workdir)
    try:
        yield server
    finally:
        server.kill()


def _start_on_free_port(binary: str, workdir: Path) -> RedisServer:
    # The port can be taken between free_port() and the server's bind; try a few.
    last_error: RedisServerError | None = None
    for _ in range(_PORT_ATTEMPTS):
        server = RedisServer(binary, free_port(), workdir)
        try:
            server.start()
        except RedisServerError as exc:
            last_error = exc
        else:
            return server
    raise RedisServerError(f"redis-server did not start in {_PORT_ATTEMPTS} tries") from last_error
