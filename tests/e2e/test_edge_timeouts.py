"""Timeouts and limits at the edge, with real Envoy: a stalled upload or slow headers are cut
after a short time with a JSON 408, CONNECT is refused at once, and Envoy has a connection
limit."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.gateway import Gateway, running_gateway
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

LISTENER_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def gateway(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp("edge"),
        upstream_server,
        listener_timeout=f"{LISTENER_TIMEOUT_S}s",
    ) as gw:
        yield gw


def _exchange(gateway: Gateway, raw: bytes, wait_s: float = 15) -> tuple[bytes, float]:
    port = int(gateway.base_url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks), time.monotonic() - started


def _complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _status_and_json(reply: bytes) -> tuple[int, dict]:
    head, _, body = reply.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_stalled_upload_gets_a_json_408(gateway: Gateway) -> None:
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b'content-length: 1000\r\n\r\n{"model":'
    )
    reply, elapsed = _exchange(gateway, head)
    status, body = _status_and_json(reply)
    assert status == 408
    assert body["error"]["code"] == "RequestTimeout"
    assert elapsed < LISTENER_TIMEOUT_S + 5


def test_slow_headers_are_cut(gateway: Gateway) -> None:
    reply, elapsed = _exchange(gateway, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    assert reply.startswith(b"HTTP/1.1 408") or reply == b""
    assert elapsed < LISTENER_TIMEOUT_S + 5


def test_connect_is_refused_at_once(gateway: Gateway) -> None:
    reply, elapsed = _exchange(
        gateway, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    )
    status, body = _status_and_json(reply)
    assert status == 403
    assert body["error"]["code"] == "Forbidden"
    assert elapsed < 2


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            b"zz\r\nnot a chunk\r\n0\r\n\r\n",
            400,
        ),
        (b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}", 400),
        (b"POST /v1/chat%00/completions HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}", 400),
        (b"POST /v1/chat/completions#x HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}", 400),
        (
            b"GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            403,
        ),
    ],
    ids=["bad_chunk", "no_host", "nul_in_path", "fragment", "websocket"],
)
def test_envoys_own_refusals_are_json(gateway: Gateway, raw: bytes, status: int) -> None:
    reply, _ = _exchange(gateway, raw)
    got, body = _status_and_json(reply)
    assert got == status
    assert body["error"]["details"]["reason"]


def test_the_services_own_400_keeps_its_message(gateway: Gateway) -> None:
    raw = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b'content-length: 9\r\n\r\n{"model":'
    )
    reply, _ = _exchange(gateway, raw)
    status, body = _status_and_json(reply)
    assert status == 400
    assert body["error"]["details"]["reason"] == "malformed_json"
