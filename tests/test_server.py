from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import grpc
import orjson
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plano_extproc.config import load_config_text
from plano_extproc.config.model import Config
from plano_extproc.extproc.generated.envoy import ext_proc_pb2 as ep
from plano_extproc.extproc.generated.envoy import ext_proc_pb2_grpc
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import HeaderMap, HeaderValue
from plano_extproc.server import EXTPROC_SERVICE, default_drain_seconds, listen_address, serve
from tests.extproc.conftest import CONFIG, ENV

SERVING = health_pb2.HealthCheckResponse.SERVING


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request_headers(path: str, method: str = "POST", eos: bool = False) -> ep.ProcessingRequest:
    values = [(":path", path), (":method", method), ("content-type", "application/json")]
    headers = HeaderMap(headers=[HeaderValue(key=k, raw_value=v.encode()) for k, v in values])
    return ep.ProcessingRequest(request_headers=ep.HttpHeaders(headers=headers, end_of_stream=eos))


def request_body(body: object) -> ep.ProcessingRequest:
    return ep.ProcessingRequest(
        request_body=ep.HttpBody(body=orjson.dumps(body), end_of_stream=True)
    )


async def health(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status


@pytest.fixture
def config() -> Config:
    """The ext_proc tests' config (tests/extproc/conftest.py)."""
    return load_config_text(CONFIG, ENV, require_keys=False)


@pytest.fixture
async def server(config: Config) -> AsyncIterator[grpc.aio.Channel]:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(config, port=port, stop=stop, drain_seconds=1))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        for _ in range(100):
            try:
                if await health(channel, "") == SERVING:
                    break
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
        yield channel
    stop.set()
    await asyncio.wait_for(task, 10)


async def exchange(
    channel: grpc.aio.Channel, *messages: ep.ProcessingRequest
) -> list[ep.ProcessingResponse]:
    stub = ext_proc_pb2_grpc.ExternalProcessorStub(channel)

    async def outgoing() -> AsyncIterator[ep.ProcessingRequest]:
        for message in messages:
            yield message

    return [reply async for reply in stub.Process(outgoing())]


async def test_both_health_services_report_serving(server: grpc.aio.Channel) -> None:
    assert await health(server, "") == SERVING
    assert await health(server, EXTPROC_SERVICE) == SERVING


async def test_decision_stream(server: grpc.aio.Channel) -> None:
    body = {"model": "x", "messages": [{"role": "user", "content": "Write a Python function"}]}
    replies = await exchange(
        server, request_headers("/routing/v1/chat/completions"), request_body(body)
    )
    assert replies[0].HasField("request_headers")
    decision = orjson.loads(replies[1].immediate_response.body)
    assert decision["route"] == "code_generation"


async def test_bodyless_request_is_answered_in_header_phase(server: grpc.aio.Channel) -> None:
    replies = await exchange(server, request_headers("/v1/models", "GET", eos=True))
    assert len(replies) == 1
    assert replies[0].immediate_response.status.code == 200


async def test_other_phases_are_acknowledged(server: grpc.aio.Channel) -> None:
    replies = await exchange(
        server,
        ep.ProcessingRequest(response_headers=ep.HttpHeaders()),
        ep.ProcessingRequest(response_body=ep.HttpBody()),
        ep.ProcessingRequest(request_body=ep.HttpBody()),
    )
    kinds = [reply.WhichOneof("response") for reply in replies]
    # A request body without its headers would be forwarded unrewritten: refused instead.
    assert kinds == ["response_headers", "response_body", "immediate_response"]
    assert replies[2].immediate_response.status.code == 503


async def test_stop_drains_and_reports_not_serving(config: Config) -> None:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(config, port=port, stop=stop, drain_seconds=1))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await channel.channel_ready()
        stop.set()
        await asyncio.wait_for(task, 10)
        with pytest.raises(grpc.aio.AioRpcError):
            await health(channel, "")


async def test_port_in_use_is_an_error(config: Config) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="cannot listen"):
            await serve(config, port=port, stop=asyncio.Event())


async def test_the_routing_stream_ends_with_its_answer(server: grpc.aio.Channel) -> None:
    """Envoy then continues without the service: a restart cannot fail the proxied request."""
    stub = ext_proc_pb2_grpc.ExternalProcessorStub(server)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    call = stub.Process()
    await call.write(request_headers("/v1/chat/completions"))
    assert (await call.read()).HasField("request_headers")
    await call.write(request_body(body))
    assert (await call.read()).HasField("request_body")
    # Without closing our side, the server has finished the call.
    assert await asyncio.wait_for(call.read(), 5) is grpc.aio.EOF
    assert await call.code() == grpc.StatusCode.OK


async def test_streams_opened_while_envoy_learns_of_the_drain_are_served(
    config: Config,
) -> None:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(config, port=port, stop=stop, drain_seconds=2))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        while True:
            try:
                if await health(channel, "") == SERVING:
                    break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)
        stop.set()
        await asyncio.sleep(0.2)
        assert await health(channel, "") == health_pb2.HealthCheckResponse.NOT_SERVING
        replies = await exchange(channel, request_headers("/v1/models", "GET", eos=True))
        assert replies[0].immediate_response.status.code == 200
    await asyncio.wait_for(task, 10)


def test_the_default_drain_outlasts_the_longest_request(config: Config) -> None:
    assert default_drain_seconds(config) == config.listeners[0].timeout_seconds + 5


@pytest.mark.parametrize(
    ("host", "address"),
    [("0.0.0.0", "0.0.0.0:50051"), ("::", "[::]:50051"), ("127.0.0.1", "127.0.0.1:50051")],
)
def test_listen_address_brackets_ipv6_hosts(host: str, address: str) -> None:
    assert listen_address(host, 50051) == address
