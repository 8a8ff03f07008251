"""RoutingService.Decide with `auth`: the call's metadata must carry a key, as HTTP headers do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import orjson
import pytest

from plano_extproc.config import load_config_text
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2
from plano_extproc.grpc_api.service import RoutingServicer
from plano_extproc.routing.router import Router
from tests.extproc.conftest import CONFIG, ENV
from tests.extproc.test_client_auth import AUTH, PASSTHROUGH

CODE = {"messages": [{"role": "user", "content": "Write a Python function for binary search"}]}


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code


class FakeContext:
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code)


@pytest.fixture
async def servicer() -> AsyncIterator[RoutingServicer]:
    config = load_config_text(CONFIG.replace(PASSTHROUGH, "") + AUTH, ENV, require_keys=False)
    router = await Router.start(config)
    ready: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    ready.set_result(Gateway(config, router))
    yield RoutingServicer(ready)
    await router.close()


async def decide(servicer: RoutingServicer, *metadata: tuple[str, str]) -> routing_pb2.Decision:
    request = routing_pb2.DecideRequest(
        api=routing_pb2.CLIENT_API_CHAT,
        body=orjson.dumps(CODE),
        headers={"x-plano-identity": "forged"},
    )
    return await servicer.Decide(request, FakeContext(metadata))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("x-api-key", "wrong"),), grpc.StatusCode.UNAUTHENTICATED),
        ((("x-api-key", "pk-mini"),), grpc.StatusCode.PERMISSION_DENIED),
    ],
)
async def test_calls_without_a_usable_key_are_refused(
    servicer: RoutingServicer, metadata: tuple[tuple[str, str], ...], code: grpc.StatusCode
) -> None:
    with pytest.raises(Aborted) as refused:
        await decide(servicer, *metadata)
    assert refused.value.code == code


async def test_a_keyed_call_gets_the_models_its_key_may_use(servicer: RoutingServicer) -> None:
    decision = await decide(servicer, ("authorization", "Bearer pk-claude"))

    assert decision.route == "code_generation"
    assert list(decision.models) == ["anthropic/claude-sonnet-4-20250514"]
