"""Envoy's admin API from inside its own pod, where it listens on 127.0.0.1 only.

A kubelet cannot reach a pod's loopback with an httpGet probe, so the Helm chart runs this as
an exec probe and as the preStop hook:

    python -m plano_extproc.envoy.admin_probe ready            # exit 0 when /ready says LIVE
    python -m plano_extproc.envoy.admin_probe drain --max-seconds 305

`drain` fails Envoy's readiness (`/healthcheck/fail`: `/ready` stops answering LIVE, so the pod
leaves its Service; a graceful drain alone leaves it LIVE), starts the graceful listener drain,
waits `--min-seconds` for load balancers to notice, then until no client request is
open or `--max-seconds` pass. The kubelet's SIGTERM comes after it returns. Standard library
only: a probe starts in about a tenth of a second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from collections.abc import Callable

from plano_extproc.envoy.options import DEFAULT_ADMIN_PORT

ADMIN_HOST = "127.0.0.1"
REQUEST_TIMEOUT_SECONDS = 2.0
POLL_SECONDS = 1.0
ACTIVE_REQUESTS_STAT = "downstream_rq_active"
# The admin listener counts the probe's own request; only client listeners matter.
ADMIN_STAT_PREFIX = "http.admin."


class AdminError(Exception):
    """Envoy's admin API did not answer, or answered with an error."""


def admin_request(port: int, method: str, path: str) -> str:
    connection = http.client.HTTPConnection(ADMIN_HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request(method, path)
        reply = connection.getresponse()
        body = reply.read().decode("utf-8", "replace")
    except OSError as error:
        raise AdminError(f"{ADMIN_HOST}:{port}: {error}") from error
    finally:
        connection.close()
    if reply.status != 200:
        raise AdminError(f"{method} {path}: {reply.status} {body.strip()}")
    return body


def active_client_requests(stats_json: str) -> int:
    """Open requests on the client listeners, from `/stats?format=json`."""
    stats = json.loads(stats_json).get("stats", [])
    return sum(
        int(stat.get("value", 0))
        for stat in stats
        if stat.get("name", "").endswith(ACTIVE_REQUESTS_STAT)
        and not stat.get("name", "").startswith(ADMIN_STAT_PREFIX)
    )


def wait_until_idle(
    read_active: Callable[[], int],
    *,
    min_seconds: float,
    max_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Waits at least `min_seconds`, then until nothing is open or `max_seconds` have passed.

    Returns the requests still open at the end (0 when Envoy became idle in time).
    """
    start = clock()
    while True:
        elapsed = clock() - start
        active = read_active()
        if elapsed >= max_seconds or (elapsed >= min_seconds and active == 0):
            return active
        sleep(POLL_SECONDS)


def ready(args: argparse.Namespace) -> int:
    try:
        state = admin_request(args.admin_port, "GET", "/ready").strip()
    except AdminError as error:
        print(error, file=sys.stderr)
        return 1
    print(state)
    return 0


def drain_envoy(admin_port: int, *, min_seconds: float, max_seconds: float) -> int:
    """Fails Envoy's readiness, drains its listeners gracefully, then waits at least
    `min_seconds` and until no client request is open or `max_seconds` have passed; returns
    the requests still open. AdminError when Envoy does not answer."""
    admin_request(admin_port, "POST", "/healthcheck/fail")
    admin_request(admin_port, "POST", "/drain_listeners?graceful")
    return wait_until_idle(
        lambda: active_client_requests(
            admin_request(admin_port, "GET", f"/stats?format=json&filter={ACTIVE_REQUESTS_STAT}")
        ),
        min_seconds=min_seconds,
        max_seconds=max_seconds,
    )


def drain(args: argparse.Namespace) -> int:
    try:
        left = drain_envoy(
            args.admin_port, min_seconds=args.min_seconds, max_seconds=args.max_seconds
        )
    except AdminError as error:
        # Envoy already gone or wedged: nothing left to drain, let the stop go ahead.
        print(error, file=sys.stderr)
        return 0
    print(f"drained; {left} request(s) still open")
    return 0


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="python -m plano_extproc.envoy.admin_probe")
    commands.add_argument("--admin-port", type=int, default=DEFAULT_ADMIN_PORT)
    actions = commands.add_subparsers(required=True)
    actions.add_parser("ready", help="exit 0 when Envoy's /ready answers LIVE").set_defaults(
        handler=ready
    )
    draining = actions.add_parser("drain", help="graceful drain, then wait for open requests")
    draining.add_argument("--min-seconds", type=float, default=5.0)
    draining.add_argument("--max-seconds", type=float, default=305.0)
    draining.set_defaults(handler=drain)
    return commands


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
