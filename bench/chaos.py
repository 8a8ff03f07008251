"""Faults under load: what a client sees while the gateway is hurt.

    python bench/chaos.py [--short] [--strict]

Each fault runs against a fresh gateway (real Envoy, `serve --workers 2`, the test upstream as
provider) while client threads keep sending small requests, and prints one table row: requests
sent, answered (2xx), failed (any other status or a connection error) and hung (no answer
within the client timeout). The faults:

  big_body_burst   4 concurrent ~3.5 MB chat requests (100k short turns) amid the load
  translated_burst one worker, the embedded classifier, 6 such requests translated to Anthropic
                   amid the load: no request fails, the big ones get 200
  worker_kill      SIGKILL of one of the two workers; failures counted from 2 s after it
  sigterm_streams  SIGTERM of the ext_proc with long streams in flight (untranslated and
                   translated): each must finish whole
  sigterm_long_stream  a translated 20 s stream, SIGTERM of the ext_proc 3 s in, the default
                   drain: it must finish whole
  sigkill_streams  SIGKILL of the ext_proc with long untranslated streams in flight
  redis_loss       the Redis session cache killed mid-run: decisions go on unpinned, and the
                   rate limits' buckets kept there (a ratelimits entry per session) fail open

`--strict` exits 1 when a fault's expected outcome is missed (docs in bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import orjson
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.gateway import NATIVE_ANTHROPIC_MODEL, Gateway, running_gateway
from tests.support.processes import child_pids
from tests.support.redis_server import running_redis_server
from tests.support.upstream import StreamReply, UpstreamServer, running_upstream

CLIENT_TIMEOUT_S = 30.0
BIG_BURST = 6
SMALL = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# A rate limit every request of a run fits: its buckets live in the Redis a fault kills.
ROOMY_LIMIT = {
    "model": "openai/gpt-4o-mini",
    "selector": {"key": "x-session-id", "value": "*"},
    "limit": {"tokens": 10**12, "unit": "minute"},
}
DECISION = {"messages": [{"role": "user", "content": "Write a Python function"}]}


@dataclass(slots=True)
class Tally:
    sent: int = 0
    answered: int = 0
    failed: int = 0
    hung: int = 0
    late_failures: int = 0  # failures after the fault's grace period
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: str, late: bool) -> None:
        with self.lock:
            self.sent += 1
            if outcome == "answered":
                self.answered += 1
            elif outcome == "hung":
                self.hung += 1
            else:
                self.failed += 1
                self.late_failures += late


@dataclass(frozen=True, slots=True)
class Row:
    fault: str
    tally: Tally
    expected: str
    met: bool


class Load:
    """Client threads posting small requests until stopped; failures after `grace_from` are
    also counted as late."""

    def __init__(self, gateway: Gateway, clients: int, headers: dict[str, str] | None = None):
        self.tally = Tally()
        self.grace_from: float | None = None
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(gateway, headers or {}, index), daemon=True)
            for index in range(clients)
        ]

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(CLIENT_TIMEOUT_S + 5)
        self.elapsed_s = time.monotonic() - self._started

    def _run(self, gateway: Gateway, headers: dict[str, str], index: int) -> None:
        with httpx.Client(base_url=gateway.base_url, timeout=CLIENT_TIMEOUT_S) as client:
            while not self._stop.is_set():
                path, body = (
                    ("/v1/chat/completions", SMALL)
                    if index % 2
                    else ("/routing/v1/chat/completions", DECISION)
                )
                self.tally.record(_outcome(client, path, body, headers), self._late())

    def _late(self) -> bool:
        return self.grace_from is not None and time.monotonic() >= self.grace_from


class HealthProbe:
    """Asks the worker's gRPC health service what Envoy asks, every 100 ms, and keeps the
    slowest answer: how long the worker's event loop made a health check wait."""

    def __init__(self, port: int) -> None:
        self.slowest_ms = 0.0
        self.checks = 0
        self._port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(CLIENT_TIMEOUT_S)

    def _run(self) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{self._port}") as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            while not self._stop.wait(0.1):
                started = time.monotonic()
                with contextlib.suppress(grpc.RpcError):
                    check(health_pb2.HealthCheckRequest(service=""), timeout=CLIENT_TIMEOUT_S)
                self.slowest_ms = max(self.slowest_ms, (time.monotonic() - started) * 1000)
                self.checks += 1


def _outcome(client: httpx.Client, path: str, body: object, headers: dict[str, str]) -> str:
    try:
        response = client.post(path, json=body, headers=headers)
    except httpx.TimeoutException:
        return "hung"
    except httpx.HTTPError:
        return "failed"
    return "answered" if response.status_code < 300 else "failed"


def _big_body() -> bytes:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"note {i}"}
        for i in range(99_999)
    ]
    turns.append({"role": "user", "content": "summarise"})
    return orjson.dumps({"model": NATIVE_ANTHROPIC_MODEL, "max_tokens": 16, "messages": turns})


def _burst(gateway: Gateway, count: int) -> list[int]:
    """`count` big chat requests at once; their statuses (0: no answer), once all are done."""
    big = _big_body()
    statuses: list[int] = []

    def send() -> None:
        try:
            response = httpx.post(
                f"{gateway.base_url}/v1/chat/completions",
                content=big,
                headers={"content-type": "application/json"},
                timeout=CLIENT_TIMEOUT_S,
            )
            statuses.append(response.status_code)
        except httpx.HTTPError:
            statuses.append(0)

    senders = [threading.Thread(target=send) for _ in range(count)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return sorted(statuses)


def big_body_burst(make: Callable[..., Gateway], seconds: float) -> Row:
    gateway = make(workers=2)
    with Load(gateway, clients=4) as load:
        time.sleep(seconds / 2)
        _burst(gateway, 4)
        time.sleep(seconds / 2)
    tally = load.tally
    ok = tally.failed == 0 and tally.hung == 0
    return Row("big_body_burst", tally, "no small request fails", ok)


def worker_kill(make: Callable[..., Gateway], seconds: float) -> Row:
    gateway = make(workers=2)
    with Load(gateway, clients=4) as load:
        time.sleep(seconds / 2)
        victim = child_pids(gateway.extproc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        load.grace_from = time.monotonic() + 2
        time.sleep(seconds / 2 + 2)
    tally = load.tally
    ok = tally.late_failures == 0 and tally.hung == 0
    return Row("worker_kill", tally, "0 failures 2 s after the kill", ok)


def _streams(gateway: Gateway, upstream: UpstreamServer, count: int, kill: int) -> Tally:
    """`count` slow streams (half translated when kill is SIGTERM), the ext_proc signalled
    once they are all under way; a stream counts as answered when it arrived whole."""
    tally = Tally()
    pieces = tuple(f"piece-{i} " for i in range(10))
    for _ in range(count):
        upstream.script("/v1/chat/completions", StreamReply(pieces, interval_s=0.3))
        upstream.script("/v1/messages", StreamReply(pieces, interval_s=0.3))
    started = threading.Barrier(count + 1)

    def stream(model: str) -> None:
        body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        text, outcome = "", "failed"
        try:
            with httpx.stream(
                "POST",
                f"{gateway.base_url}/v1/chat/completions",
                json=body,
                timeout=CLIENT_TIMEOUT_S,
            ) as response:
                for index, line in enumerate(response.iter_lines()):
                    if index == 0:
                        started.wait(CLIENT_TIMEOUT_S)
                    text += line
            whole = all(piece.strip() in text for piece in pieces) and "[DONE]" in text
            outcome = "answered" if response.status_code == 200 and whole else "failed"
        except httpx.TimeoutException:
            outcome = "hung"
        except (httpx.HTTPError, threading.BrokenBarrierError):
            outcome = "failed"
        tally.record(outcome, late=True)

    translated = kill == signal.SIGTERM
    models = [
        NATIVE_ANTHROPIC_MODEL if translated and index % 2 else "openai/gpt-4o-mini"
        for index in range(count)
    ]
    threads = [threading.Thread(target=stream, args=(model,)) for model in models]
    for thread in threads:
        thread.start()
    started.wait(CLIENT_TIMEOUT_S)
    os.kill(gateway.extproc.pid, kill)
    for thread in threads:
        thread.join(CLIENT_TIMEOUT_S + 5)
    return tally


def sigterm_streams(make: Callable[..., Gateway], upstream: UpstreamServer) -> Row:
    gateway = make(workers=2, drain_seconds=30)
    tally = _streams(gateway, upstream, count=6, kill=signal.SIGTERM)
    return Row("sigterm_streams", tally, "every stream finishes whole", tally.answered == 6)


def sigterm_long_stream(make: Callable[..., Gateway], upstream: UpstreamServer) -> Row:
    """A translated stream of about 20 s (an event every 2.5 s), SIGTERM to the ext_proc 3 s
    in, the production drain (the listener timeout and a margin): the stream finishes whole."""
    gateway = make(workers=2, drain_seconds=None)
    pieces = tuple(f"piece-{index} " for index in range(4))
    upstream.script("/v1/messages", StreamReply(pieces, interval_s=2.5))
    body = {
        "model": NATIVE_ANTHROPIC_MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    tally, text, started = Tally(), "", time.monotonic()
    outcome = "failed"
    try:
        with httpx.stream(
            "POST", f"{gateway.base_url}/v1/chat/completions", json=body, timeout=CLIENT_TIMEOUT_S
        ) as response:
            threading.Timer(3.0, os.kill, (gateway.extproc.pid, signal.SIGTERM)).start()
            for line in response.iter_lines():
                text += line
        whole = all(piece.strip() in text for piece in pieces) and "[DONE]" in text
        outcome = "answered" if response.status_code == 200 and whole else "failed"
    except httpx.TimeoutException:
        outcome = "hung"
    except httpx.HTTPError:
        outcome = "failed"
    tally.record(outcome, late=True)
    print(f"sigterm_long_stream: {time.monotonic() - started:.1f} s, {outcome}", flush=True)
    return Row(
        "sigterm_long_stream", tally, "the 20 s stream finishes whole", outcome == "answered"
    )


def sigkill_streams(make: Callable[..., Gateway], upstream: UpstreamServer) -> Row:
    gateway = make(workers=1)
    tally = _streams(gateway, upstream, count=6, kill=signal.SIGKILL)
    return Row("sigkill_streams", tally, "every untranslated stream finishes", tally.answered == 6)


def redis_loss(make: Callable[..., Gateway], workdir: Path, seconds: float) -> Row:
    with running_redis_server(workdir) as redis:
        gateway = make(workers=2, redis_url=redis.url, overrides={"ratelimits": [ROOMY_LIMIT]})
        with Load(gateway, clients=4, headers={"x-session-id": "chaos"}) as load:
            time.sleep(seconds / 2)
            redis.kill()
            time.sleep(seconds / 2)
    tally = load.tally
    ok = tally.failed == 0 and tally.hung == 0
    return Row("redis_loss", tally, "no request fails", ok)


def table(rows: list[Row]) -> str:
    lines = [
        "| fault | sent | answered | failed | hung | expected | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        t = row.tally
        lines.append(
            f"| {row.fault} | {t.sent} | {t.answered} | {t.failed} | {t.hung} | "
            f"{row.expected} | {'yes' if row.met else 'NO'} |"
        )
    return "\n".join(lines)


def translated_burst(make: Callable[..., Gateway], seconds: float) -> Row:
    """As a real deployment sees it: one worker, the embedded classifier, and 6 big chat
    requests translated to the Anthropic provider amid small requests."""
    routing = {"session_cache": {"type": "memory"}, "classifier": {"type": "embedded"}}
    gateway = make(workers=1, overrides={"routing": routing})
    with Load(gateway, clients=8) as load, HealthProbe(gateway.extproc_ports[0]) as health:
        time.sleep(seconds / 2)
        statuses = _burst(gateway, BIG_BURST)
        time.sleep(seconds / 2)
    tally = load.tally
    rate = tally.sent / load.elapsed_s
    print(
        f"translated_burst: big statuses {statuses}, small requests {rate:.0f}/s, "
        f"slowest health check {health.slowest_ms:.0f} ms of {health.checks}",
        flush=True,
    )
    ok = tally.failed == 0 and tally.hung == 0 and statuses == [200] * BIG_BURST
    return Row("translated_burst", tally, "no request fails, big ones 200", ok)


@contextmanager
def _gateways(workdir: Path, upstream: UpstreamServer) -> Iterator[Callable[..., Gateway]]:
    with ExitStack() as stack:
        names = iter(range(1000))

        def make(**options: object) -> Gateway:
            return stack.enter_context(
                running_gateway(workdir, upstream, name=f"gw{next(names)}", **options)
            )

        yield make


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="shorter load phases (CI)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a missed outcome")
    args = parser.parse_args()
    seconds = 4.0 if args.short else 10.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="plano-chaos-") as tmp, running_upstream() as up:
        workdir = Path(tmp)
        faults: list[Callable[[Callable[..., Gateway]], Row]] = [
            lambda make: big_body_burst(make, seconds),
            lambda make: translated_burst(make, seconds),
            lambda make: worker_kill(make, seconds),
            lambda make: sigterm_streams(make, up),
            lambda make: sigterm_long_stream(make, up),
            lambda make: sigkill_streams(make, up),
            lambda make: redis_loss(make, workdir, seconds),
        ]
        for fault in faults:
            up.reset()
            with _gateways(workdir, up) as make:
                rows.append(fault(make))
            print(f"{rows[-1].fault}: done", flush=True)
    print(table(rows))
    missed = [row.fault for row in rows if not row.met]
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
