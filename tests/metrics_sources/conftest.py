"""A programmable HTTP server on 127.0.0.1 for the metrics-source tests.

It runs in its own thread, so it answers while the test's event loop awaits the client.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class SeenRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout tests) breaks the pipe; that is expected."""


class StubServer:
    """Answers GET `path` with whatever `reply()` last set for it (404 otherwise)."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self._replies: dict[str, Reply] = {}
        self._release = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reply(
        self,
        path: str,
        body: object = b"",
        *,
        status: int = 200,
        delay: float = 0.0,
        content_type: str = "application/json",
    ) -> None:
        """`body` is sent as is when bytes/str, JSON-encoded otherwise."""
        if isinstance(body, str):
            raw = body.encode()
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body).encode()
        self._replies[path] = Reply(status, raw, content_type, delay)

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                stub.requests.append(
                    SeenRequest(parts.path, dict(parse_qsl(parts.query)), dict(self.headers))
                )
                reply = stub._replies.get(parts.path, Reply(status=404))
                if reply.delay:
                    stub._release.wait(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    try:
        yield server
    finally:
        server.close()


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"
