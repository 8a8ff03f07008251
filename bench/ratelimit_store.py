"""What one rate-limit check costs: microseconds per `take` of the bucket stores, one call at a
time, for one bucket (a per-user limit) and two (per-user and per-team), in process memory and
in a real redis-server on this host (loopback TCP, one Lua script per call).

    python bench/ratelimit_store.py [--takes 20000] [--redis-url redis://127.0.0.1:6379/0]

Without --redis-url it starts a throwaway redis-server (Debian's `redis-server` package); with
one, its keys are under a fresh prefix and expire within seconds. Every take is allowed (the
quotas are huge) so each one runs the full path: read, check, write. A `redis PING` row gives
the round trip of the same client with no script, for scale, and `server_us` the time Redis
itself spent per script call (INFO commandstats). Runs on uvloop, as the service.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

# `python bench/ratelimit_store.py` puts bench/ on sys.path, not the repo root that holds tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvloop
from redis.asyncio import Redis

from plano_extproc.ratelimit.gcra import Quota
from plano_extproc.ratelimit.store import Bucket, BucketStore, MemoryBucketStore, RedisBucketStore
from tests.support.redis_server import running_redis_server

USERS = 1_000
HUGE = Quota(10**12, 60.0)
WARMUP_TAKES = 500


def request_buckets(count: int, takes: int) -> list[list[Bucket]]:
    """The buckets of each request: its user's, then (with two) the one team's."""
    run = uuid.uuid4().hex[:8]
    return [
        [(f"bench:{run}:user:{n % USERS}", HUGE), (f"bench:{run}:team:acme", HUGE)][:count]
        for n in range(takes)
    ]


async def time_calls(call: Callable[[int], Awaitable[None]], count: int) -> list[float]:
    """Microseconds of each call, one at a time, after a warm-up."""
    for n in range(WARMUP_TAKES):
        await call(n)
    samples = []
    for n in range(count):
        started = time.perf_counter()
        await call(n)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def taking(
    store: BucketStore, requests: Sequence[list[Bucket]]
) -> Callable[[int], Awaitable[None]]:
    async def take(n: int) -> None:
        verdict = await store.take(requests[n % len(requests)], 100)
        if not verdict.allowed or verdict.degraded:
            raise RuntimeError(f"unexpected verdict {verdict}")

    return take


async def script_stats(client: Redis) -> tuple[int, int]:
    """(calls, microseconds) Redis has spent on EVALSHA so far."""
    stats = (await client.info("commandstats")).get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def row(name: str, buckets: int, samples: list[float], server_us: float | None = None) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    median = statistics.median(ordered)
    mean = statistics.fmean(ordered)
    server = "" if server_us is None else f"{server_us:>10.1f}"
    line = f"{name:<10} {buckets:>7} {len(samples):>7} {median:>10.1f} {mean:>10.1f} {p99:>10.1f}"
    return f"{line} {server}".rstrip()


async def redis_row(url: str, client: Redis, count: int, takes: int) -> str:
    store = RedisBucketStore(url, op_timeout=1.0)
    try:
        calls, usec = await script_stats(client)
        samples = await time_calls(taking(store, request_buckets(count, takes)), takes)
        calls_after, usec_after = await script_stats(client)
    finally:
        await store.close()
    return row("redis", count, samples, (usec_after - usec) / max(calls_after - calls, 1))


async def run(takes: int, redis_url: str) -> None:
    columns = ("median_us", "mean_us", "p99_us", "server_us")
    print(f"{'store':<10} {'buckets':>7} {'calls':>7} " + " ".join(f"{c:>10}" for c in columns))
    client = Redis.from_url(redis_url)
    try:
        for count in (1, 2):
            memory = MemoryBucketStore()
            requests = request_buckets(count, takes)
            print(row("memory", count, await time_calls(taking(memory, requests), takes)))
            print(await redis_row(redis_url, client, count, takes))

        async def ping(_: int) -> None:
            await client.ping()

        print(row("redis PING", 0, await time_calls(ping, takes)))
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=20_000)
    parser.add_argument("--redis-url", help="an existing Redis instead of a throwaway one")
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.redis_url
        if url is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = stack.enter_context(running_redis_server(workdir)).url
        uvloop.run(run(args.takes, url))


if __name__ == "__main__":
    main()
