"""The benchmark's stacks: the configs each scenario runs on, and their processes (the shared
nginx upstream, Envoy, the ext_proc), for `overhead.py`."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from cpu_usage import group_cpu_seconds
from wrk_runner import Load

from plano_extproc.config import load_config
from plano_extproc.config.upstreams import upstreams_for
from plano_extproc.contract.clusters import EXTPROC_CLUSTER
from plano_extproc.contract.headers import CLUSTER_HEADER
from plano_extproc.envoy.render import render_envoy_config

# `python bench/overhead.py` puts bench/ on sys.path, not the repo root that holds tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.gateway import TEST_KEYS, envoy_binary, running_extproc
from tests.support.ports import free_port_block, free_ports
from tests.support.processes import ManagedProcess, http_ok, managed_process
from tests.support.redis_server import running_redis_server

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
EXAMPLE_CONFIG = REPO_ROOT / "config.example.yaml"
NGINX_UPSTREAM = BENCH_DIR / "nginx_upstream.py"
CHAT_PATH = "/v1/chat/completions"
EXPLICIT_MODEL = "openai/gpt-4o-mini"
TRANSLATED_MODEL = "anthropic/claude-sonnet-4-20250514"
FALLBACK_MODEL = "openai/gpt-4o"
BEDROCK_MODEL = "amazon_bedrock/us.amazon.nova-pro-v1:0"
RATE_LIMITED_PREFIX = "/ratelimited"
# The gateway key the keyed scenario's client sends (config `auth`), and how many keys it lists.
BENCH_CLIENT_KEY = "pk-bench-client"
KEYED_CLIENTS = 100
# The selector header of the rate-limited scenario's entry, and what its client sends.
RATELIMIT_HEADER = "x-user-id"
NGINX_WORKERS = 1
LOG_TAIL_LINES = 20
# Provider prefix → the variable holding its fake key (tests.support sets it for the ext_proc).
KEY_VARIABLES = {
    "openai": "TEST_OPENAI_KEY",
    "anthropic": "TEST_ANTHROPIC_KEY",
    "amazon_bedrock": "TEST_OPENAI_KEY",
}


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    name: str
    stack: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    # Response headers each check request must carry (None: must be absent).
    expect: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Stack:
    """One Envoy (and its ext_proc, if any) in front of the shared nginx."""

    url: str
    processes: Mapping[str, ManagedProcess]
    # What its clients send besides the scenario's headers.
    client_headers: tuple[tuple[str, str], ...] = ()

    def load(self, scenario: Scenario, connections: int, threads: int) -> Load:
        headers = (*self.client_headers, *scenario.headers)
        return Load(self.url, scenario.body, headers, connections, threads)

    def cpu_seconds(self) -> dict[str, float]:
        return {role: group_cpu_seconds(p.pid) for role, p in self.processes.items()}

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {p.log_path} ---\n{p.log_tail(LOG_TAIL_LINES)}" for p in self.processes.values()
        )


# --- configs ---------------------------------------------------------------------------------


class Routes(Enum):
    NONE = "none"  # no routing_preferences: the client's model is used
    OPENAI_FIRST = "openai_first"  # the seed routes with their OpenAI models ranked first
    # The same without the example's retry_policy: what routing costs on its own.
    OPENAI_FIRST_NO_POLICY = "openai_first_no_policy"
    SEED = "seed"  # the seed routes as written
    FAILOVER = "failover"  # no routes; EXPLICIT_MODEL is rate-limited and fails over
    BEDROCK = "bedrock"  # no routes; BEDROCK_MODEL declared too (its stream is translated)
    KEYED = "keyed"  # no routes; `auth` with KEYED_CLIENTS keys, BENCH_CLIENT_KEY among them
    # No routes; a `ratelimits` entry on EXPLICIT_MODEL per RATELIMIT_HEADER value, its buckets
    # in a Redis on this host (the session cache's).
    RATELIMITED = "ratelimited"


def bench_config(nginx_url: str, listener_port: int, routes: Routes) -> dict[str, Any]:
    """config.example.yaml on 127.0.0.1, with every provider at nginx and the given routes."""
    config: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    config["listeners"][0].update(address="127.0.0.1", port=listener_port)
    for provider in config["model_providers"]:
        variable = KEY_VARIABLES[provider["model"].split("/")[0]]
        provider.update(base_url=nginx_url, access_key=f"${variable}")
        if provider["model"].startswith("anthropic/"):
            # The translating path is the one to measure; Plano's default would send the chat
            # request to the provider's OpenAI-compatible endpoint untranslated.
            provider["upstream_api"] = "messages"
    # Whatever the example uses: the lexical classifier (the embedded one has its own caches
    # and model; it needs a benchmark with varied prompts).
    classifier = config["routing"]["classifier"]
    config["routing"]["classifier"] = {"type": "lexical", "timeout_ms": classifier["timeout_ms"]}
    if routes is Routes.BEDROCK:
        variable = KEY_VARIABLES["amazon_bedrock"]
        bedrock = {"model": BEDROCK_MODEL, "base_url": nginx_url, "access_key": f"${variable}"}
        config["model_providers"].append(bedrock)
    if routes is Routes.FAILOVER:
        _rate_limit_explicit_model(config, nginx_url)
    if routes is Routes.KEYED:
        config["auth"] = _auth_section()
    if routes is Routes.RATELIMITED:
        config["ratelimits"] = [_ratelimit_entry()]
    if routes in (Routes.NONE, Routes.FAILOVER, Routes.BEDROCK, Routes.KEYED, Routes.RATELIMITED):
        del config["routing_preferences"]
    else:
        _rank_openai_first(config, routes)
    return config


def _auth_section() -> dict[str, Any]:
    """As many keys as a mid-sized organisation hands out; the throttle off, since every
    request comes from one address."""
    keys = [BENCH_CLIENT_KEY, *(f"pk-bench-other-{n}" for n in range(KEYED_CLIENTS - 1))]
    entries = [
        {"name": f"client-{n}", "key_sha256": hashlib.sha256(key.encode()).hexdigest()}
        for n, key in enumerate(keys)
    ]
    return {"api_keys": entries, "max_failures_per_minute": 0}


def _ratelimit_entry() -> dict[str, Any]:
    """Room for every request of the run: what is measured is the check, never a 429."""
    return {
        "model": EXPLICIT_MODEL,
        "selector": {"key": RATELIMIT_HEADER, "value": "*"},
        "limit": {"tokens": 10**12, "unit": "minute"},
    }


def _rank_openai_first(config: dict[str, Any], routes: Routes) -> None:
    """The same classifier work as the seed routes, and the chat request then goes out
    untranslated; without the example's retry_policy when asked."""
    if routes not in (Routes.OPENAI_FIRST, Routes.OPENAI_FIRST_NO_POLICY):
        return
    for route in config["routing_preferences"]:
        route["models"].sort(key=lambda model: not model.startswith("openai/"))
    if routes is Routes.OPENAI_FIRST_NO_POLICY:
        for provider in config["model_providers"]:
            provider.pop("retry_policy", None)


def _rate_limit_explicit_model(config: dict[str, Any], nginx_url: str) -> None:
    for provider in config["model_providers"]:
        if provider["model"] == EXPLICIT_MODEL:
            # A base_url path replaces the provider's /v1 prefix, as in Plano.
            provider["base_url"] = nginx_url + RATE_LIMITED_PREFIX + "/v1"
            provider["retry_policy"] = {
                "fallback_models": [FALLBACK_MODEL],
                "default_max_attempts": 1,
            }


def write_yaml(path: Path, document: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
    return path


def envoy_document(config_path: Path, extproc_ports: Sequence[int] | None) -> dict[str, Any]:
    """The rendered bootstrap without access logs; without the ext_proc when ports is None."""
    config = load_config(config_path, env=TEST_KEYS)
    document = render_envoy_config(config, extproc_ports=extproc_ports or (1,), admin_port=None)
    for manager in _connection_managers(document):
        manager.pop("access_log", None)
        if extproc_ports is None:
            filters = manager["http_filters"]
            manager["http_filters"] = [f for f in filters if not _is_ext_proc(f["typed_config"])]
            _drop_routes_to(manager, EXTPROC_CLUSTER)
    if extproc_ports is None:
        resources = document["static_resources"]
        resources["clusters"] = [c for c in resources["clusters"] if c["name"] != EXTPROC_CLUSTER]
    return document


def _drop_routes_to(manager: dict[str, Any], cluster: str) -> None:
    """Without the ext_proc cluster, the gRPC decision API's route to it would not load."""
    for host in manager.get("route_config", {}).get("virtual_hosts", []):
        host["routes"] = [r for r in host["routes"] if r.get("route", {}).get("cluster") != cluster]


def _connection_managers(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for listener in document["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                config = network_filter["typed_config"]
                if config["@type"].endswith(".HttpConnectionManager"):
                    yield config


def _is_ext_proc(typed_config: Mapping[str, Any]) -> bool:
    return str(typed_config["@type"]).endswith(".ext_proc.v3.ExternalProcessor")


def upstream_cluster(config_path: Path) -> str:
    """The cluster the ext_proc selects for EXPLICIT_MODEL."""
    return upstreams_for(load_config(config_path, env=TEST_KEYS))[EXPLICIT_MODEL].cluster


# --- processes -------------------------------------------------------------------------------


class PortPool:
    """Free loopback ports, none handed out twice (each is bound only when its process starts)."""

    def __init__(self) -> None:
        self._taken: set[int] = set()

    def one(self) -> int:
        port = next(p for p in free_ports(len(self._taken) + 1) if p not in self._taken)
        self._taken.add(port)
        return port

    def block(self, count: int) -> int:
        for _ in range(len(self._taken) + 1):
            first = free_port_block(count)
            ports = set(range(first, first + count))
            if not ports & self._taken:
                self._taken |= ports
                return first
        raise BenchError(f"no block of {count} free ports outside {sorted(self._taken)}")


@contextmanager
def running_nginx(workdir: Path, port: int) -> Iterator[ManagedProcess]:
    args = [sys.executable, str(NGINX_UPSTREAM), "--port", str(port)]
    args += ["--workdir", str(workdir / "nginx"), "--workers", str(NGINX_WORKERS)]
    ready = http_ok(f"http://127.0.0.1:{port}/health")
    with managed_process("nginx", args, workdir, ready=ready) as process:
        yield process


@contextmanager
def running_envoy(
    document: Mapping[str, Any], directory: Path, listener_port: int, concurrency: int
) -> Iterator[ManagedProcess]:
    """As tests.support.gateway.running_envoy, with a chosen --concurrency and no admin API."""
    config_path = directory / "envoy.json"
    config_path.write_text(json.dumps(document), encoding="utf-8")
    args = [envoy_binary(), "-c", str(config_path), "--concurrency", str(concurrency)]
    args += ["--disable-hot-restart", "--log-level", "warn"]
    ready = http_ok(f"http://127.0.0.1:{listener_port}/healthz")
    with managed_process("envoy", args, directory, ready=ready) as process:
        yield process


# Stack name → (its routes, whether it has an ext_proc).
STACKS = {
    "envoy_only": (Routes.NONE, False),
    "explicit": (Routes.NONE, True),
    "routed": (Routes.OPENAI_FIRST, True),
    "routed_no_policy": (Routes.OPENAI_FIRST_NO_POLICY, True),
    "translated": (Routes.SEED, True),
    "failover": (Routes.FAILOVER, True),
    "bedrock": (Routes.BEDROCK, True),
    "keyed": (Routes.KEYED, True),
    "ratelimited": (Routes.RATELIMITED, True),
}


def start_stacks(
    exit_stack: ExitStack, workdir: Path, workers: int, envoy_concurrency: int, names: Iterable[str]
) -> dict[str, Stack]:
    """The shared nginx, then the named STACKS; `exit_stack` stops them all."""
    ports = PortPool()
    nginx_port = ports.one()
    nginx = exit_stack.enter_context(running_nginx(workdir, nginx_port))
    nginx_url = f"http://127.0.0.1:{nginx_port}"
    stacks = {}
    for name in names:
        routes, ext_proc = STACKS[name]
        listener_port = ports.one()
        config = bench_config(nginx_url, listener_port, routes)
        if routes is Routes.RATELIMITED:
            (workdir / name).mkdir(parents=True, exist_ok=True)
            redis = exit_stack.enter_context(running_redis_server(workdir / name))
            config["routing"]["session_cache"] = {"type": "redis", "url": redis.url}
        config_path = write_yaml(workdir / name / "config.yaml", config)
        sizes = (workers, envoy_concurrency)
        stacks[name] = _start_stack(
            exit_stack, config_path, listener_port, sizes, ports, nginx, ext_proc
        )
    return stacks


def _start_stack(
    exit_stack: ExitStack,
    config_path: Path,
    listener_port: int,
    sizes: tuple[int, int],
    ports: PortPool,
    nginx: ManagedProcess,
    ext_proc: bool,
) -> Stack:
    directory = config_path.parent
    workers, envoy_concurrency = sizes
    processes = {"nginx": nginx}
    extproc_ports: range | None = None
    if ext_proc:
        first = ports.block(workers)
        extproc_ports = range(first, first + workers)
        extproc = running_extproc(config_path, directory, first, workers=workers, name="ext_proc")
        processes["ext_proc"] = exit_stack.enter_context(extproc)
    document = envoy_document(config_path, extproc_ports)
    envoy = running_envoy(document, directory, listener_port, envoy_concurrency)
    processes["envoy"] = exit_stack.enter_context(envoy)
    # Without the ext_proc, the client sends the cluster header the ext_proc would have set.
    client_headers = () if ext_proc else ((CLUSTER_HEADER, upstream_cluster(config_path)),)
    return Stack(f"http://127.0.0.1:{listener_port}{CHAT_PATH}", processes, client_headers)
