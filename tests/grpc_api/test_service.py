"""RoutingService.Decide on a real worker (`serve`), with a grpc.aio client: the same decision
and the same errors as /routing/v1, and server reflection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import orjson
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from plano_extproc.config.model import Config
from plano_extproc.extproc.server import serve
from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2, routing_pb2_grpc
from plano_extproc.grpc_api.service import SERVICE_NAME
from tests.extproc.test_server import free_port, health

SERVING = 1
CODE = {"messages": [{"role": "user", "content": "Write a Python function"}]}


@pytest.fixture
async def channel(config: Config) -> AsyncIterator[grpc.aio.Channel]:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(config, port=port, stop=stop, drain_seconds=1))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as opened:
        for _ in range(200):
            try:
                if await health(opened, "") == SERVING:
                    break
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
        yield opened
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_a_decision_over_grpc(channel: grpc.aio.Channel) -> None:
    stub = routing_pb2_grpc.RoutingServiceStub(channel)
    request = routing_pb2.DecideRequest(
        api=routing_pb2.CLIENT_API_CHAT,
        body=orjson.dumps(CODE),
        headers={"X-Session-Id": "grpc-1"},
    )

    first = await stub.Decide(request)
    again = await stub.Decide(request)

    assert first.route == "code_generation"
    assert list(first.models)
    assert len(first.trace_id) == 32
    assert first.session_id == "grpc-1"
    assert (first.pinned, again.pinned) == (False, True)
    assert not first.HasField("fallback_reason")


@pytest.mark.parametrize(
    ("api", "body", "message"),
    [
        (routing_pb2.CLIENT_API_CHAT, b'{"messages": ', "not valid JSON"),
        (routing_pb2.CLIENT_API_MESSAGES, b"{}", "required field is missing"),
        (routing_pb2.CLIENT_API_UNSPECIFIED, b"{}", "api"),
    ],
)
async def test_invalid_input_is_invalid_argument(
    channel: grpc.aio.Channel, api: int, body: bytes, message: str
) -> None:
    stub = routing_pb2_grpc.RoutingServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.Decide(routing_pb2.DecideRequest(api=api, body=body))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (refused.value.details() or "")


async def test_server_reflection_lists_the_service(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for reply in stub.ServerReflectionInfo(iter([request])):
        names = {s.name for s in reply.list_services_response.service}
        assert SERVICE_NAME in names
        break
