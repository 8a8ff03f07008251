"""The service's own share of a request: the routing filter's two phases for bench rows B, K and
G (header phase, then the buffered body rewritten for the provider), in this process, messages
parsed and answers serialised as gRPC would, without gRPC itself.

    python bench/phases.py [--requests 20000]

Compare with `overhead.py`'s ext_proc CPU-µs per request: the rest is gRPC's (bench/README.md,
"Where the ext_proc's time goes").
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plano_extproc.config import load_config_text
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    HeaderMap,
    HeaderValue,
    HttpBody,
    HttpHeaders,
    ProcessingRequest,
)
from plano_extproc.extproc.processors.routing import RoutingProcessor
from plano_extproc.routing.router import Router

CONFIG = """
version: v0.4.0
model_providers:
  - model: openai/gpt-4o-mini
    access_key: $BENCH_KEY
    default: true
  - model: openai/gpt-4o
    access_key: $BENCH_KEY
"""
# Row G: the same request, its model with a retry_policy whose first attempt Envoy judges.
POLICY = "    retry_policy: {fallback_models: [openai/gpt-4o]}\n"
# Row K: client authentication on, 100 gateway keys; the client sends one of them.
CLIENT_KEY = "pk-bench-client"
AUTH = "auth:\n  max_failures_per_minute: 0\n  api_keys:\n" + "".join(
    f"    - {{name: client-{n}, key_sha256: {hashlib.sha256(key.encode()).hexdigest()}}}\n"
    for n, key in enumerate([CLIENT_KEY, *(f"pk-other-{n}" for n in range(99))])
)
ROWS = {
    "B": (CONFIG, {}),
    "K": (CONFIG + AUTH, {"authorization": f"Bearer {CLIENT_KEY}"}),
    "G": (CONFIG.replace("    default: true\n", "    default: true\n" + POLICY), {}),
}
PROMPT = "Write a Python function that implements binary search over a sorted list"
BODY = orjson.dumps(
    {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 64,
    }
)
# What Envoy sends for wrk's request (bench/wrk_chat.lua).
HEADERS = {
    ":method": "POST",
    ":path": "/v1/chat/completions",
    ":authority": "127.0.0.1:10000",
    ":scheme": "http",
    "content-type": "application/json",
    "content-length": str(len(BODY)),
    "x-request-id": "3f1e5a2c-1111-2222-3333-444455556666",
    "x-forwarded-proto": "http",
}


def _messages(extra_headers: dict[str, str]) -> tuple[bytes, bytes]:
    sent = {**HEADERS, **extra_headers}
    values = [HeaderValue(key=k, raw_value=v.encode()) for k, v in sent.items()]
    headers = ProcessingRequest(request_headers=HttpHeaders(headers=HeaderMap(headers=values)))
    body = ProcessingRequest(request_body=HttpBody(body=BODY, end_of_stream=True))
    return headers.SerializeToString(), body.SerializeToString()


async def _measure(row: str, requests: int) -> float:
    """Microseconds per request, after a warm-up."""
    text, extra_headers = ROWS[row]
    config = load_config_text(text, {"BENCH_KEY": "bench"})
    router = await Router.start(config)
    gateway = Gateway(config, router)
    raw = _messages(extra_headers)

    async def one() -> None:
        processor = RoutingProcessor(gateway, None)
        for message in raw:
            async for reply in processor.handle(ProcessingRequest.FromString(message)):
                reply.SerializeToString()

    try:
        for _ in range(requests // 10):
            await one()
        started = time.perf_counter()
        for _ in range(requests):
            await one()
        return (time.perf_counter() - started) / requests * 1e6
    finally:
        await gateway.close()
        await router.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    for row in ROWS:
        micros = asyncio.run(_measure(row, args.requests))
        print(f"routing filter, both phases, row {row}'s request: {micros:.1f} µs")


if __name__ == "__main__":
    main()
