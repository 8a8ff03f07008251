"""The gRPC decision API through real Envoy: the listener routes RoutingService calls to the
ext_proc workers, and the answer matches /routing/v1's."""

from __future__ import annotations

import grpc
import httpx
import orjson
import pytest

from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.support.gateway import Gateway

pytestmark = pytest.mark.e2e

CODE = {"messages": [{"role": "user", "content": "Write a Python function for binary search"}]}


async def test_grpc_and_http_decisions_agree(gateway: Gateway) -> None:
    target = gateway.base_url.removeprefix("http://")
    async with grpc.aio.insecure_channel(target) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        reply = await stub.Decide(
            routing_pb2.DecideRequest(api=routing_pb2.CLIENT_API_CHAT, body=orjson.dumps(CODE)),
            timeout=20,
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Decide(
                routing_pb2.DecideRequest(api=routing_pb2.CLIENT_API_CHAT, body=b"{"), timeout=20
            )
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        over_http = await client.post("/routing/v1/chat/completions", json=CODE)
        http_error = await client.post(
            "/routing/v1/chat/completions",
            content=b"{",
            headers={"content-type": "application/json"},
        )

    assert reply.route == over_http.json()["route"] == "code_generation"
    assert list(reply.models) == over_http.json()["models"]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == http_error.json()["error"]["message"]
