"""RoutingService.Decide on a real worker (`serve`), with a grpc.aio client: the same decision
and the same errors as /routing/v1, and server reflection."""

from __future__ import annotations

import grpc
import orjson
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2, routing_pb2_grpc
from plano_extproc.grpc_api.service import SERVICE_NAME
from tests.test_server import server

CODE = {"messages": [{"role": "user", "content": "Write a Python function"}]}


@pytest.fixture
def channel(server: grpc.aio.Channel) -> grpc.aio.Channel:
    """A real worker (tests/test_server.py's `server`), SERVING."""
    return server


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


__all__ = ["server"]
