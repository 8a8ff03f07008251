"""Run `wrk` (4.x) for a fixed duration with `wrk_chat.lua`, and read its --latency report."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("wrk_chat.lua")
# wrk stops on its own after the duration; this only bounds a hung run.
GRACE_SECONDS = 30

_TIME_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
_PERCENTILE = re.compile(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    # wrk counts every status >= 400 here ("Non-2xx or 3xx responses").
    non_2xx: int
    socket_errors: int


@dataclass(frozen=True, slots=True)
class Load:
    """What to send: a chat POST body and extra headers, over `connections` connections."""

    url: str
    body: bytes
    headers: Sequence[tuple[str, str]]
    connections: int
    threads: int = 1


def run_wrk(load: Load, seconds: int) -> WrkResult:
    args = ["wrk", f"-t{min(load.threads, load.connections)}", f"-c{load.connections}"]
    args += [f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT)]
    for name, value in load.headers:
        args += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*args, load.url],
        env={**os.environ, "WRK_CHAT_BODY": load.body.decode()},
        capture_output=True,
        text=True,
        timeout=seconds + GRACE_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise WrkError(f"wrk exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return parse_wrk(result.stdout)


def parse_wrk(output: str) -> WrkResult:
    """wrk's report with --latency; raises WrkError when a needed line is missing."""
    percentiles = {int(p): _ms(value, unit) for p, value, unit in _PERCENTILE.findall(output)}
    requests, rate = _REQUESTS.search(output), _RATE.search(output)
    if requests is None or rate is None or not {50, 99} <= percentiles.keys():
        raise WrkError(f"unexpected wrk output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    socket_errors = _SOCKET_ERRORS.search(output)
    return WrkResult(
        requests=int(requests.group(1)),
        seconds=_ms(requests.group(2), requests.group(3)) / 1e3,
        rps=float(rate.group(1)),
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
    )


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]
