"""`plano-extproc serve`: run the ext_proc gRPC service, optionally as N worker processes.

One Python process is about one core, so `--workers N` starts N processes on ports
P..P+N-1; the generated Envoy config lists them all as endpoints of the ext_proc cluster.
With several workers, session affinity needs the Redis store to be shared between them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
from functools import partial
from types import FrameType

import prometheus_client
import uvloop

from plano_extproc.classifiers.factory import UnavailableClassifier
from plano_extproc.cli.supervisor import STOP_MARGIN_SECONDS, Supervisor, stopped_cleanly
from plano_extproc.config import Config, ConfigError, load_config
from plano_extproc.config.exposure import open_listener_warning
from plano_extproc.config.model import SessionCacheType
from plano_extproc.server import default_drain_seconds, serve

log = logging.getLogger("plano_extproc")


def register(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("serve", help="run the ext_proc gRPC service")
    command.add_argument("--config", required=True)
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--port", type=int, default=50051)
    command.add_argument("--workers", type=int, default=1)
    command.add_argument(
        "--allow-missing-keys",
        action="store_true",
        help="start even if provider key variables are unset (their requests get a 503)",
    )
    command.add_argument(
        "--drain-seconds",
        type=float,
        default=None,
        help="how long open streams may finish after SIGTERM (default: the listener timeout "
        "+ 5 s, the longest a request may take)",
    )
    command.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus metrics on this port (worker i on port+i); 0 disables",
    )
    command.add_argument("--log-level", default="info")
    # Given to workers by their supervisor and to `serve` by `up`, which warned already.
    command.add_argument("--no-open-listener-warning", action="store_true", help=argparse.SUPPRESS)
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        format=f"%(asctime)s %(levelname)s extproc:{args.port} %(name)s: %(message)s",
    )
    # httpx logs every request at INFO: one line per classifier call is per-request logging.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = load_config(args.config, require_keys=not args.allow_missing_keys)
    except ConfigError as error:
        log.error("%s: invalid config\n%s", args.config, error)
        return 2
    log_warnings(config, open_listener=not args.no_open_listener_warning)
    if args.workers > 1:
        if config.routing.session_cache.type is not SessionCacheType.REDIS:
            log.warning(
                "%d workers with the in-memory affinity store: pins are per worker", args.workers
            )
        return _run_workers(args, _drain_seconds(args, config))
    try:
        if args.metrics_port:
            # Counters only; the scrape endpoint runs on its own thread, off the event loop.
            prometheus_client.start_http_server(args.metrics_port, addr=args.host)
        uvloop.run(serve(config, host=args.host, port=args.port, drain_seconds=args.drain_seconds))
    except (UnavailableClassifier, OSError) as error:
        log.error("%s", error)
        return 2
    return 0


def log_warnings(config: Config, *, open_listener: bool) -> None:
    for warning in config.warnings:
        log.warning("%s", warning)
    if open_listener and (warning := open_listener_warning(config)):
        log.warning("%s", warning)


def _worker_command(args: argparse.Namespace, index: int) -> list[str]:
    command = [sys.executable, "-m", "plano_extproc.cli.main", "serve", "--config", args.config]
    command += ["--host", args.host, "--port", str(args.port + index)]
    command += ["--no-open-listener-warning"]
    command += ["--log-level", args.log_level]
    if args.drain_seconds is not None:
        command += ["--drain-seconds", str(args.drain_seconds)]
    if args.metrics_port:
        command += ["--metrics-port", str(args.metrics_port + index)]
    return command + (["--allow-missing-keys"] if args.allow_missing_keys else [])


def _drain_seconds(args: argparse.Namespace, config: Config) -> float:
    return default_drain_seconds(config) if args.drain_seconds is None else args.drain_seconds


def _run_workers(args: argparse.Namespace, drain_seconds: float) -> int:
    """The workers, each restarted alone if it dies; SIGTERM/SIGINT drain them all, and they
    get their whole drain before being killed."""
    supervisor = Supervisor()
    for index in range(args.workers):
        command = _worker_command(args, index)
        supervisor.add(f"worker {index} (port {args.port + index})", partial(_popen, command))

    def forward(signum: int, _frame: FrameType | None) -> None:
        # Signalled once only: a second SIGTERM would kill a worker that is still draining.
        supervisor.signal_all(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    supervisor.run()
    return stopped_cleanly(supervisor.wait_all(drain_seconds + STOP_MARGIN_SECONDS))


def _popen(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command)
