"""Decisions per second: the gRPC decision API next to POST /routing/v1, both through Envoy
(lexical classifier, one ext_proc worker), on a gateway without tracing and on one that traces
every request (Envoy's spans and plano.routing, to a local OTLP receiver), in one run.

    python bench/grpc_decisions.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plano_extproc.grpc_api.generated.plano.routing.v1 import (
    routing_pb2,
    routing_pb2_grpc,
)
from tests.support.gateway import running_gateway
from tests.support.otlp_receiver import running_otlp_receiver
from tests.support.upstream import running_upstream

BODY = {"messages": [{"role": "user", "content": "Write a Python function for binary search"}]}


async def measure(
    call: Callable[[], Awaitable[None]], requests: int, concurrency: int
) -> tuple[float, float, float]:
    """(decisions per second, p50 ms, p99 ms)."""
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return requests / elapsed, cuts[49] * 1000, cuts[98] * 1000


async def run(base_url: str, requests: int, concurrency: int) -> list[tuple[str, tuple]]:
    rows = []
    raw = orjson.dumps(BODY)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def over_http() -> None:
            response = await client.post("/routing/v1/chat/completions", content=raw)
            assert response.status_code == 200

        await measure(over_http, min(200, requests), concurrency)  # warm-up
        rows.append(("HTTP POST /routing/v1", await measure(over_http, requests, concurrency)))
    async with grpc.aio.insecure_channel(base_url.removeprefix("http://")) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        request = routing_pb2.DecideRequest(api=routing_pb2.CLIENT_API_CHAT, body=raw)

        async def over_grpc() -> None:
            await stub.Decide(request, timeout=30)

        await measure(over_grpc, min(200, requests), concurrency)
        rows.append(("gRPC RoutingService.Decide", await measure(over_grpc, requests, concurrency)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_upstream() as upstream,
        running_otlp_receiver() as receiver,
    ):
        tracing = {"random_sampling": 100, "opentracing_grpc_endpoint": receiver.endpoint}
        for label, overrides in (("off", {}), ("on, 100 %", {"tracing": tracing})):
            directory = Path(tmp)
            with running_gateway(directory, upstream, name=label[:3], overrides=overrides) as gw:
                measured = asyncio.run(run(gw.base_url, args.requests, args.concurrency))
            rows += [(name, label, result) for name, result in measured]
        spans = len(receiver.spans)
    print(f"\n{args.requests} decisions per API at concurrency {args.concurrency}, through Envoy")
    print("| API | tracing | decisions/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for name, label, (rate, p50, p99) in rows:
        print(f"| {name} | {label} | {rate:.0f} | {p50:.2f} | {p99:.2f} |")
    print(f"\nspans received by the OTLP receiver while tracing: {spans}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
