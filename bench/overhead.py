"""What the ext_proc costs: Envoy alone vs Envoy + the ext_proc, side by side, in one run.

    python bench/overhead.py [--workers 1] [--envoy-concurrency 1] [--json results.json]

Every scenario sends a small chat completion POST through Envoy to one nginx upstream
(`nginx_upstream.py`), with `wrk` and `wrk_chat.lua`, at each `--concurrency` (default 1, 32):

  A envoy_only  Envoy with the ext_proc filters and cluster removed; the client sends the
                cluster header the ext_proc would set, so the same route is taken
  B explicit    Envoy + ext_proc, no routes: `model: openai/gpt-4o-mini` goes where it asks
  C routed      the seed routes of config.example.yaml, lexical classifier, the prompt of
                demo/requests/1_code_generation.chat.json (matches code_generation); the
                route's OpenAI model is ranked first, so nothing is translated
  I routed_no_policy  C without the example's retry_policy on gpt-4o: routing alone, no
                attempt filter (C minus I is what the policy costs on a routed request)
  D pinned      C's request with `X-Model-Affinity: bench`, pinned during the warm-up
  E translated  C with the seed routes as written: code_generation answers with Claude, set to
                `upstream_api: messages`, so the chat request is translated to Anthropic
                Messages and the answer back
  F failover    B's request; its model has a retry_policy and answers 429, so every request
                fails over to the fallback model (two attempts through the attempt filter)
  G first_try   the failover stack, a model whose retry_policy is not needed: one attempt,
                which is what a policy costs when nothing fails
  K explicit_keyed  B with client authentication on (`auth`, 100 gateway keys): the client
                sends one, the routing filter checks it (K minus B is what the check costs)
  L ratelimited B with a `ratelimits` entry on its model (per `x-user-id` value, room for the
                whole run), its buckets in a Redis on this host: the prompt's estimate is
                charged before, and corrected with the answer's usage after (the answer then
                passes the response filter); L minus B is what a limit costs
  H bedrock_stream  B's request streamed to an Amazon Bedrock model: sent as ConverseStream,
                answered by nginx with an AWS event stream (10 deltas), translated chunk by
                chunk into the chat client's SSE (compare with E, a translated JSON answer)

The Envoy configs come from the project's renderer with the access log removed, so A and B
differ only by the ext_proc. All stacks run at once (an idle one costs nothing measurable) and
the rows go concurrency by concurrency, so each comparison with A is minutes apart at most.
Each row: a discarded warm-up, a few requests whose decision headers prove the scenario takes
its path, then the measured run; CPU per request comes from /proc (utime + stime of each
process group, workers included). Nothing is pinned to a core. A row during which other
processes kept more than a quarter of a core busy is measured again (`--retries`).

Prints a markdown table and the machine; exits 1 when a response was not 2xx, wrk saw a socket
error, or a scenario did not take its path.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from cpu_usage import (
    QUIET_CORES,
    busy_cpu_seconds,
    children_cpu_seconds,
    wait_until_quiet,
)
from overhead_report import machine, markdown, targets
from overhead_stacks import (
    BEDROCK_MODEL,
    BENCH_CLIENT_KEY,
    EXPLICIT_MODEL,
    FALLBACK_MODEL,
    NGINX_WORKERS,
    RATELIMIT_HEADER,
    REPO_ROOT,
    TRANSLATED_MODEL,
    BenchError,
    Scenario,
    Stack,
    start_stacks,
)
from wrk_runner import Load, WrkError, WrkResult, run_wrk

# `python bench/overhead.py` puts bench/ on sys.path, not the repo root that holds tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.gateway import envoy_binary
from tests.support.processes import ProcessError

ROUTED_REQUEST = REPO_ROOT / "demo" / "requests" / "1_code_generation.chat.json"
ROUTED_ROUTE = "code_generation"
AFFINITY_HEADER = ("x-model-affinity", "bench")
# In nginx's answer, also after its translation from an Anthropic message.
UPSTREAM_ANSWER = b"Hello from the benchmark upstream."

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
BASELINE = "A"  # every other scenario is compared with it
CHECK_REQUESTS = 5
CHECK_TIMEOUT_SECONDS = 5.0
OTHERS = "others"


@dataclass(frozen=True, slots=True)
class Settings:
    workers: int
    envoy_concurrency: int
    concurrency: tuple[int, ...]
    warmup_s: int
    duration_s: int
    wrk_threads: int
    scenarios: tuple[str, ...]
    wait_quiet_s: float
    retries: int
    nginx_workers: int = NGINX_WORKERS


@dataclass(frozen=True, slots=True)
class Measurement:
    scenario: Scenario
    connections: int
    wrk: WrkResult
    cpu_us_per_request: dict[str, float]
    # Cores kept busy by anything but the measured stack and wrk, on average over the run.
    others_cores: float


# --- scenarios -------------------------------------------------------------------------------


def _compact(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def scenarios() -> tuple[Scenario, ...]:
    explicit = _compact(
        {"model": EXPLICIT_MODEL, "messages": [{"role": "user", "content": "hello there"}]}
    )
    routed = _compact(json.loads(ROUTED_REQUEST.read_bytes()))
    route = ("x-plano-route", ROUTED_ROUTE)
    return (
        Scenario("A", "envoy_only", "envoy_only", explicit, expect=(("x-plano-model", None),)),
        Scenario(
            "B",
            "explicit",
            "explicit",
            explicit,
            expect=(("x-plano-model", EXPLICIT_MODEL), ("x-plano-route", None)),
        ),
        Scenario(
            "K",
            "explicit_keyed",
            "keyed",
            explicit,
            headers=(("authorization", f"Bearer {BENCH_CLIENT_KEY}"),),
            expect=(("x-plano-model", EXPLICIT_MODEL),),
        ),
        Scenario(
            "L",
            "ratelimited",
            "ratelimited",
            explicit,
            headers=((RATELIMIT_HEADER, "bench-user"),),
            expect=(("x-plano-model", EXPLICIT_MODEL),),
        ),
        Scenario("C", "routed", "routed", routed, expect=(route, ("x-plano-pinned", "false"))),
        Scenario(
            "I",
            "routed_no_policy",
            "routed_no_policy",
            routed,
            expect=(route, ("x-plano-pinned", "false"), ("x-plano-attempts", None)),
        ),
        Scenario(
            "D",
            "pinned",
            "routed",
            routed,
            headers=(AFFINITY_HEADER,),
            expect=(route, ("x-plano-pinned", "true")),
        ),
        Scenario(
            "E",
            "translated",
            "translated",
            routed,
            expect=(route, ("x-plano-model", TRANSLATED_MODEL)),
        ),
        Scenario(
            "F",
            "failover",
            "failover",
            explicit,
            expect=(
                ("x-plano-model", FALLBACK_MODEL),
                ("x-plano-attempts", f"{EXPLICIT_MODEL};status=429, {FALLBACK_MODEL};status=200"),
            ),
        ),
        Scenario(
            "G",
            "first_try",
            "failover",
            _compact({"model": FALLBACK_MODEL, "messages": [{"role": "user", "content": "hi"}]}),
            expect=(("x-plano-attempts", f"{FALLBACK_MODEL};status=200"),),
        ),
        Scenario(
            "H",
            "bedrock_stream",
            "bedrock",
            _compact(
                {
                    "model": BEDROCK_MODEL,
                    "messages": [{"role": "user", "content": "hello there"}],
                    "stream": True,
                }
            ),
            expect=(("x-plano-model", BEDROCK_MODEL), ("content-type", SSE_CONTENT_TYPE)),
        ),
    )


def check_path(stack: Stack, scenario: Scenario) -> None:
    """A few requests, each answered by nginx with the decision headers the scenario expects."""
    for _ in range(CHECK_REQUESTS):
        status, headers, body = _post(stack.load(scenario, 1, 1))
        wrong = {
            name: headers.get(name) for name, want in scenario.expect if headers.get(name) != want
        }
        if status != 200 or UPSTREAM_ANSWER not in body or wrong:
            raise BenchError(
                f"{scenario.name} does not take its path: HTTP {status}, unexpected headers "
                f"{wrong} (want {dict(scenario.expect)}), body {body[:300]!r}\n"
                f"{stack.log_tails()}"
            )


def _post(load: Load) -> tuple[int, Mapping[str, str], bytes]:
    headers = {"content-type": "application/json", **dict(load.headers)}
    request = urllib.request.Request(load.url, data=load.body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=CHECK_TIMEOUT_SECONDS) as response:
            return response.status, _lowercase(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lowercase(error.headers), error.read()


def _lowercase(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds so far: per process group of a stack, of wrk, and of the whole machine."""

    roles: Mapping[str, float]
    machine: float

    @classmethod
    def take(cls, stack: Stack) -> CpuSnapshot:
        # wrk's runs are this process's only reaped children; the stacks are still running.
        roles = {**stack.cpu_seconds(), "wrk": children_cpu_seconds()}
        return cls(roles, busy_cpu_seconds())

    def minus(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds used since `before` per role, and by everything else as OTHERS (other
        users' processes, and the idle stacks' health checks)."""
        used = {role: self.roles[role] - before.roles[role] for role in self.roles}
        used[OTHERS] = max(0.0, self.machine - before.machine - sum(used.values()))
        return used


def measure(stack: Stack, scenario: Scenario, connections: int, settings: Settings) -> Measurement:
    label = f"{scenario.key} {scenario.name} c={connections}"
    print(f"{label}: warm-up {settings.warmup_s}s, then {settings.duration_s}s", file=sys.stderr)
    load = stack.load(scenario, connections, settings.wrk_threads)
    _require_2xx(label, stack, run_wrk(load, settings.warmup_s))
    check_path(stack, scenario)
    before = CpuSnapshot.take(stack)
    result = run_wrk(load, settings.duration_s)
    used = CpuSnapshot.take(stack).minus(before)
    _require_2xx(label, stack, result)
    others = used.pop(OTHERS) / result.seconds
    per_request = {role: round(cpu * 1e6 / result.requests, 1) for role, cpu in used.items()}
    return Measurement(scenario, connections, result, per_request, round(others, 2))


def _require_2xx(label: str, stack: Stack, result: WrkResult) -> None:
    if result.requests == 0 or result.non_2xx or result.socket_errors:
        raise BenchError(
            f"{label}: {result.requests} requests, {result.non_2xx} not 2xx, "
            f"{result.socket_errors} socket errors\n{stack.log_tails()}"
        )


def measure_quietly(
    stack: Stack, scenario: Scenario, connections: int, settings: Settings
) -> Measurement:
    """`measure` once the machine is quiet, and again (`retries` times at most) while other
    processes kept it busy meanwhile; the quietest attempt counts."""
    attempts: list[Measurement] = []
    for _ in range(settings.retries + 1):
        wait_until_quiet(settings.wait_quiet_s)
        attempts.append(measure(stack, scenario, connections, settings))
        if attempts[-1].others_cores <= QUIET_CORES:
            break
        print(f"  {attempts[-1].others_cores:.2f} cores busy elsewhere", file=sys.stderr)
    return min(attempts, key=lambda m: m.others_cores)


def run_all(settings: Settings, workdir: Path) -> list[Measurement]:
    chosen = [s for s in scenarios() if s.key == BASELINE or s.key in settings.scenarios]
    with ExitStack() as exit_stack:
        names = dict.fromkeys(s.stack for s in chosen)
        stacks = start_stacks(
            exit_stack, workdir, settings.workers, settings.envoy_concurrency, names
        )
        # Concurrency by concurrency: each row is measured soon after its baseline.
        return [
            measure_quietly(stacks[scenario.stack], scenario, connections, settings)
            for connections in settings.concurrency
            for scenario in chosen
        ]


# --- report ---------------------------------------------------------------------------------


def rows(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """One JSON-ready row per measurement, scenario by scenario, with the comparisons to A."""
    baseline = {m.connections: m.wrk for m in measurements if m.scenario.key == BASELINE}
    ordered = sorted(measurements, key=lambda m: (m.scenario.key, m.connections))
    return [_row(m, baseline[m.connections]) for m in ordered]


def _row(measurement: Measurement, baseline: WrkResult) -> dict[str, Any]:
    wrk = measurement.wrk
    return {
        "scenario": measurement.scenario.key,
        "name": measurement.scenario.name,
        "concurrency": measurement.connections,
        **asdict(wrk),
        "rps_vs_envoy_only": round(wrk.rps / baseline.rps, 3),
        "added_p50_ms": round(wrk.p50_ms - baseline.p50_ms, 3),
        "cpu_us_per_request": measurement.cpu_us_per_request,
        "others_cores": measurement.others_cores,
    }


def build_report(
    settings: Settings, measurements: Sequence[Measurement], context: Mapping[str, Any]
) -> dict[str, Any]:
    table = rows(measurements)
    noisy = [
        f"{row['scenario']} c={row['concurrency']}"
        for row in table
        if row["others_cores"] > QUIET_CORES
    ]
    return {
        "machine": machine(envoy_binary()),
        "settings": asdict(settings),
        **context,
        "results": table,
        "noisy_rows": noisy,
        "targets": [asdict(t) for t in targets(table)],
    }


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="ext_proc worker processes")
    parser.add_argument("--envoy-concurrency", type=int, default=1, help="Envoy worker threads")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument(
        "--scenarios", nargs="+", default=list("ABKLCIDEFGH"), help=f"keys; {BASELINE} always runs"
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds per row, discarded")
    parser.add_argument("--duration", type=int, default=8, help="seconds measured per row")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        help=f"before each row, wait at most this long for fewer than {QUIET_CORES} busy cores",
    )
    parser.add_argument(
        "--retries", type=int, default=1, help="measure a row again if the machine was busy"
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--workdir", type=Path, help="keep configs and logs here")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        workers=args.workers,
        envoy_concurrency=args.envoy_concurrency,
        concurrency=tuple(args.concurrency),
        warmup_s=args.warmup,
        duration_s=args.duration,
        wrk_threads=args.wrk_threads,
        scenarios=tuple(args.scenarios),
        wait_quiet_s=args.wait_quiet,
        retries=args.retries,
    )


@contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="plano-bench-") as directory:
        yield Path(directory)


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # Unwinds like Ctrl-C, so every process started so far is stopped on the way out.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    busy_before = wait_until_quiet(settings.wait_quiet_s)
    load_before, started = os.getloadavg(), time.monotonic()
    try:
        with _workdir(args.workdir) as workdir:
            measurements = run_all(settings, workdir)
    except (BenchError, ProcessError, WrkError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    context = {
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "busy_cores_before": round(busy_before, 2),
        "wall_s": round(time.monotonic() - started, 1),
    }
    report = build_report(settings, measurements, context)
    print(markdown(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
