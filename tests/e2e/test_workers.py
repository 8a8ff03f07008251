"""`serve --workers 2` behind Envoy: both workers serve, and the group stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from plano_extproc.contract.clusters import EXTPROC_CLUSTER
from tests.e2e.conftest import GatewayFactory
from tests.support.processes import child_pids, grpc_serving

pytestmark = pytest.mark.e2e

WORKERS = 2
# Bounds on waits that only guard against hangs.
SPREAD_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 15.0
EXTPROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
CODE = {"messages": [{"role": "user", "content": "Write a Python function for binary search"}]}


def _requests_per_worker(admin_url: str, ports: tuple[int, ...]) -> dict[int, int]:
    """rq_total of each ext_proc worker, from Envoy's /clusters admin page."""
    text = httpx.get(f"{admin_url}/clusters", timeout=5).text
    totals = {port: 0 for port in ports}
    for line in text.splitlines():
        name, _, rest = line.partition("::")
        if name != EXTPROC_CLUSTER or "::rq_total::" not in rest:
            continue
        address, _, value = rest.partition("::rq_total::")
        port = int(address.rsplit(":", 1)[1])
        if port in totals:
            totals[port] = int(value)
    return totals


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_two_workers_serve_and_stop_cleanly(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(workers=WORKERS)
    assert all(grpc_serving(port, EXTPROC_SERVICE)() for port in gateway.extproc_ports)
    workers = child_pids(gateway.extproc.pid)
    assert len(workers) == WORKERS, workers

    # Envoy spreads ext_proc streams over both workers once both pass its health checks.
    deadline = time.monotonic() + SPREAD_TIMEOUT_SECONDS
    while True:
        decision = httpx.post(
            f"{gateway.base_url}/routing/v1/chat/completions", json=CODE, timeout=20
        )
        proxied = httpx.post(
            f"{gateway.base_url}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=20,
        )
        assert decision.status_code == 200, gateway.log_tails()
        assert decision.json()["route"] == "code_generation"
        assert proxied.status_code == 200, gateway.log_tails()
        per_worker = _requests_per_worker(gateway.admin_url, gateway.extproc_ports)
        if all(per_worker.values()):
            break
        assert time.monotonic() < deadline, f"not every worker served: {per_worker}"

    os.kill(gateway.extproc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while gateway.extproc.running and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped_in_time = not gateway.extproc.running
    exit_code = gateway.extproc.stop()

    assert stopped_in_time, gateway.log_tails()
    assert exit_code == 0, gateway.log_tails()
    assert all(_gone(pid) for pid in workers)
    assert not any(grpc_serving(port)() for port in gateway.extproc_ports)
    assert "Traceback" not in gateway.extproc.log_path.read_text(encoding="utf-8")


def test_a_killed_worker_is_restarted_alone_and_envoy_routes_around_it(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(workers=WORKERS)
    workers = sorted(child_pids(gateway.extproc.pid))
    assert len(workers) == WORKERS, workers
    victim, survivor = workers
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    late_failures, statuses = 0, []
    deadline = killed_at + SPREAD_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=20)
        statuses.append(response.status_code)
        if response.status_code != 200 and time.monotonic() - killed_at > 2:
            late_failures += 1
        children = child_pids(gateway.extproc.pid)
        if len(children) == WORKERS and all(
            grpc_serving(port, EXTPROC_SERVICE)() for port in gateway.extproc_ports
        ):
            break
        time.sleep(0.05)

    assert gateway.extproc.running, gateway.log_tails()
    assert survivor in child_pids(gateway.extproc.pid)
    assert victim not in child_pids(gateway.extproc.pid)
    assert len(child_pids(gateway.extproc.pid)) == WORKERS, gateway.log_tails()
    assert late_failures == 0, statuses
