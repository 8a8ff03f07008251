"""`python -m plano_extproc.envoy.admin_probe`: the chart's Envoy exec probe and preStop drain."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plano_extproc.envoy.admin_probe import active_client_requests, main, wait_until_idle
from plano_extproc.envoy.render import render_envoy_yaml
from tests.envoy.support import ENVOY, HTTPS_PROVIDERS, config_from, listener, running_envoy
from tests.support.ports import free_ports


class FakeAdmin(BaseHTTPRequestHandler):
    """Envoy's admin endpoints as the probe uses them; state on the server object."""

    def do_GET(self) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        if self.path == "/ready":
            self._reply(200 if state["ready"] == "LIVE" else 503, state["ready"] + "\n")
        elif self.path.startswith("/stats?format=json"):
            active = state["active"].pop(0) if len(state["active"]) > 1 else state["active"][0]
            stats = [
                {"name": "http.egress_traffic.downstream_rq_active", "value": active},
                {"name": "http.admin.downstream_rq_active", "value": 1},
            ]
            self._reply(200, json.dumps({"stats": stats}))
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        state["posts"].append(self.path)
        state["ready"] = "DRAINING"
        self._reply(200, "OK\n")

    def _reply(self, status: int, body: str) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def admin() -> Iterator[tuple[int, dict]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAdmin)
    server.state = {"ready": "LIVE", "active": [0], "posts": []}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.state  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_ready_exits_0_when_live(admin: tuple[int, dict]) -> None:
    port, _ = admin
    assert main(["--admin-port", str(port), "ready"]) == 0


def test_ready_fails_while_draining(admin: tuple[int, dict]) -> None:
    port, state = admin
    state["ready"] = "DRAINING"
    assert main(["--admin-port", str(port), "ready"]) == 1


def test_ready_fails_when_nothing_listens() -> None:
    assert main(["--admin-port", "1", "ready"]) == 1


def test_drain_starts_a_graceful_drain_and_waits_for_requests(admin: tuple[int, dict]) -> None:
    port, state = admin
    state["active"] = [2, 1, 0]
    args = ["--admin-port", str(port), "drain", "--min-seconds", "0", "--max-seconds", "10"]
    assert main(args) == 0
    assert state["posts"] == ["/healthcheck/fail", "/drain_listeners?graceful"]
    assert state["active"] == [0]


def test_drain_lets_the_stop_go_ahead_when_envoy_is_gone() -> None:
    assert main(["--admin-port", "1", "drain", "--max-seconds", "1"]) == 0


def test_active_requests_leave_out_the_admin_listener() -> None:
    stats = {
        "stats": [
            {"name": "http.egress_traffic.downstream_rq_active", "value": 3},
            {"name": "http.plano_attempts.downstream_rq_active", "value": 2},
            {"name": "http.admin.downstream_rq_active", "value": 1},
            {"name": "cluster.x.upstream_rq_active", "value": 9},
        ]
    }
    assert active_client_requests(json.dumps(stats)) == 5


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_keeps_the_minimum_even_when_idle() -> None:
    clock = Clock()
    left = wait_until_idle(lambda: 0, min_seconds=5, max_seconds=60, clock=clock, sleep=clock.sleep)
    assert (left, clock.now) == (0, 5)


def test_wait_gives_up_at_the_maximum() -> None:
    clock = Clock()
    left = wait_until_idle(lambda: 4, min_seconds=1, max_seconds=30, clock=clock, sleep=clock.sleep)
    assert (left, clock.now) == (4, 30)


@pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed")
def test_against_a_real_envoy_ready_then_drained(tmp_path: Path) -> None:
    port, extproc_port, admin_port = free_ports(3)
    config = config_from(HTTPS_PROVIDERS, listeners=listener(port))
    rendered = render_envoy_yaml(config, extproc_ports=(extproc_port,), admin_port=admin_port)
    with running_envoy(rendered, tmp_path, port):
        assert main(["--admin-port", str(admin_port), "ready"]) == 0
        drain = ["--admin-port", str(admin_port), "drain", "--min-seconds", "0"]
        assert main([*drain, "--max-seconds", "5"]) == 0
        assert main(["--admin-port", str(admin_port), "ready"]) == 1
