"""Benchmark of the classified path: routing decisions per second and their latency.

Runs the real routing engine (parse → classify → rank) in this process, as the ext_proc does,
with each classifier named on the command line in turn, over the seed demo requests and the
LLM-app evaluation set. Prints one markdown table, the classifiers side by side; `--json FILE`
writes the same numbers.

`triton` is a real Triton (the nvidia-pytriton wheel's tritonserver, started here) on
triton/model_repository with the CPU stand-in engine: the client, gRPC, Triton's scheduling,
preprocessing and postprocessing are real, the engine is not Arch-Router (it answers "other"
for these requests, which name no route), so its rows measure the path, not the model.

    python bench/classifier.py [--classifier embedded triton] [--seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import orjson
from cpu_usage import rss_mb

from plano_extproc.config import load_config
from plano_extproc.config.model import ClassifierType, Config, TritonSettings
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.routing.router import Router
from plano_extproc.wire import parse_request

ROOT = Path(__file__).resolve().parents[1]
# `python bench/classifier.py` puts bench/ on sys.path, not the repo root that holds tests/.
sys.path.insert(0, str(ROOT))

from tests.support.triton_server import running_triton  # noqa: E402


def _requests() -> list[dict]:
    """Chat bodies: the demo's, then every case of the LLM-app evaluation set."""
    bodies = [
        orjson.loads(p.read_bytes()) for p in sorted((ROOT / "demo/requests").glob("*.chat.json"))
    ]
    for line in (ROOT / "eval/llm_apps/cases.jsonl").read_text().splitlines():
        bodies.append({"model": "gpt-4o-mini", "messages": orjson.loads(line)["messages"]})
    return bodies


def _unique(body: dict, serial: int) -> bytes:
    """Tags the last message with a serial number, so no decision or embedding cache can answer
    it: every decision measured runs the classifier."""
    messages = [*body["messages"][:-1], dict(body["messages"][-1])]
    last = messages[-1]
    if isinstance(last.get("content"), str):
        last["content"] = f"(ref {serial}) {last['content']}"
    return orjson.dumps({**body, "messages": messages})


async def _run(router: Router, bodies: list[dict], concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    fallbacks = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal fallbacks
        while time.perf_counter() < deadline:
            serial = next(counter)
            body = _unique(bodies[serial % len(bodies)], serial)
            start = time.perf_counter()
            decision = await router.engine.decide(parse_request(ClientApi.CHAT, body), {})
            latencies.append((time.perf_counter() - start) * 1000)
            fallbacks += decision.fallback is not None

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "concurrency": concurrency,
        "decisions": len(ordered),
        "decisions_per_s": round(len(ordered) / elapsed, 1),
        "fallbacks": fallbacks,
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


@contextmanager
def _classifier_config(name: str) -> Iterator[Config]:
    """The example config with classifier `name` (for triton, and a Triton to ask)."""
    config = load_config(ROOT / "config.example.yaml", require_keys=False)
    classifier = replace(config.routing.classifier, type=ClassifierType(name))
    if name != ClassifierType.TRITON:
        yield replace(config, routing=replace(config.routing, classifier=classifier))
        return
    with tempfile.TemporaryDirectory() as workdir, running_triton(Path(workdir)) as triton:
        classifier = replace(classifier, triton=TritonSettings(url=triton.grpc_url))
        yield replace(config, routing=replace(config.routing, classifier=classifier))


async def _bench_one(name: str, seconds: float) -> list[dict]:
    with _classifier_config(name) as config:
        router = await Router.start(config)
        try:
            bodies = _requests()
            await _run(router, bodies, 1, 2.0)  # warm-up
            rows = [await _run(router, bodies, c, seconds) for c in (1, 32)]
        finally:
            await router.close()
    return [{"classifier": name, **row} for row in rows]


async def _bench(args: argparse.Namespace) -> dict:
    rows = [row for name in args.classifier for row in await _bench_one(name, args.seconds)]
    return {
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "load_average": os.getloadavg(),
        "rss_mb": round(rss_mb(), 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }


def _table(result: dict) -> str:
    lines = [
        f"{result['machine']} (load {result['load_average'][0]:.2f}); this process's RSS "
        f"{result['rss_mb']} MB (peak {result['max_rss_mb']} MB; Triton's is its own)",
        "",
        "| classifier | concurrency | decisions/s | p50 ms | p95 ms | fell back (deadline/error) |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['classifier']} | {row['concurrency']} | {row['decisions_per_s']} | "
            f"{row['p50_ms']} | {row['p95_ms']} | {row['fallbacks']} of {row['decisions']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--classifier",
        nargs="+",
        default=["embedded", "triton"],
        choices=["embedded", "lexical", "triton"],
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(_bench(args))
    print(_table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
