"""Wires one worker's gRPC server together: the ext_proc service, the decision API, health and
reflection. Health first (NOT_SERVING), then load, then SERVING.

SIGTERM/SIGINT flip health to NOT_SERVING and keep accepting streams while Envoy's health checks
notice (a few seconds); then no new streams, and the open ones get the rest of the drain
period. Only translated answers still need the service once they are routed, so the default
drain is the listener's timeout, the longest a request may take; then the routing components
close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from plano_extproc.config.model import Config
from plano_extproc.contract.clusters import EXTPROC_HEALTH_SERVICE as EXTPROC_SERVICE
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy import ext_proc_pb2_grpc
from plano_extproc.extproc.service import ExternalProcessorService
from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2_grpc
from plano_extproc.grpc_api.service import SERVICE_NAME as ROUTING_SERVICE
from plano_extproc.grpc_api.service import RoutingServicer
from plano_extproc.routing.router import Router

log = logging.getLogger(__name__)

HEALTH_SERVICES = ("", EXTPROC_SERVICE)
# Envoy checks every second and ejects a worker after two failures.
HEALTH_NOTICE_SECONDS = 3.0
# Beyond the listener timeout: a request that started just before SIGTERM still finishes.
DRAIN_MARGIN_SECONDS = 5.0
# A gRPC message carries one whole request body, plus headers and metadata.
_MESSAGE_OVERHEAD_BYTES = 1024 * 1024


def _server_options(config: Config) -> tuple[tuple[str, int], ...]:
    largest = config.listeners[0].max_request_bytes + _MESSAGE_OVERHEAD_BYTES
    return (
        ("grpc.max_concurrent_streams", 4096),
        ("grpc.max_receive_message_length", largest),
        ("grpc.so_reuseport", 0),
    )


def listen_address(host: str, port: int) -> str:
    """gRPC's `host:port`, with an IPv6 host (``::``) in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _set_health(servicer: health.aio.HealthServicer, status: int) -> asyncio.Future[None]:
    return asyncio.gather(*(servicer.set(name, status) for name in HEALTH_SERVICES))


async def serve(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 50051,
    drain_seconds: float | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until `stop` is set (or SIGTERM/SIGINT arrives); `drain_seconds` defaults to
    `default_drain_seconds(config)`."""
    drain_seconds = default_drain_seconds(config) if drain_seconds is None else drain_seconds
    stop = stop or _stop_on_signals()
    server = grpc.aio.server(options=_server_options(config))
    health_servicer = health.aio.HealthServicer()
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    gateway: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    ext_proc_pb2_grpc.add_ExternalProcessorServicer_to_server(
        ExternalProcessorService(gateway), server
    )
    routing_pb2_grpc.add_RoutingServiceServicer_to_server(RoutingServicer(gateway), server)
    reflection.enable_server_reflection(
        (
            ROUTING_SERVICE,
            EXTPROC_SERVICE,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = listen_address(host, port)
    try:
        server.add_insecure_port(address)
    except RuntimeError as error:
        raise OSError(f"cannot listen on {address}: address in use or not permitted") from error
    await server.start()
    log.info("ext_proc listening on %s:%d; loading routing", host, port)

    try:
        router = await Router.start(config)
    except BaseException:
        await server.stop(grace=None)
        raise
    ready = Gateway(config, router)
    try:
        gateway.set_result(ready)
        await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
        log.info("ext_proc on port %d is SERVING", port)
        await stop.wait()
        log.info("ext_proc on port %d draining for up to %.0fs", port, drain_seconds)
        await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
        # Streams Envoy opens before it sees NOT_SERVING are still served.
        notice = min(HEALTH_NOTICE_SECONDS, drain_seconds / 2)
        await asyncio.sleep(notice)
        await server.stop(grace=drain_seconds - notice)
    finally:
        await ready.close()
        await router.close()


def default_drain_seconds(config: Config) -> float:
    """As long as the longest allowed request (the listener's timeout), and a margin."""
    return config.listeners[0].timeout_seconds + DRAIN_MARGIN_SECONDS


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
