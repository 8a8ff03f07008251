"""Fixtures for end-to-end tests: the test upstream, and the gateway (Envoy + ext_proc) in front.

Processes are started once per session (per module for the Redis pair and the gateway of every
provider, `every_provider_gateway`, with SDK clients pointed at it); the function-scoped
fixtures hand them out with the upstream's record and scripts cleared, and Redis flushed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.e2e.provider_cases import CLIENT_KEY, ROUTES, providers
from tests.support.gateway import Gateway, providers_only, running_gateway
from tests.support.redis_server import RedisServer, running_redis_server
from tests.support.upstream import UpstreamServer, running_upstream

GatewayFactory = Callable[..., Gateway]


@dataclass(frozen=True, slots=True)
class RedisGateways:
    """Two independent gateways (each its own Envoy and ext_proc) sharing one Redis."""

    first: Gateway
    second: Gateway
    redis: RedisServer


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[UpstreamServer]:
    with running_upstream() as server:
        yield server


@pytest.fixture
def upstream(upstream_server: UpstreamServer) -> UpstreamServer:
    upstream_server.reset()
    return upstream_server


@pytest.fixture(scope="session")
def gateway_session(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway"), upstream_server) as gateway:
        yield gateway


@pytest.fixture
def gateway(gateway_session: Gateway, upstream: UpstreamServer) -> Gateway:
    """The shared gateway, with a clean upstream."""
    return gateway_session


@pytest.fixture(scope="module")
def redis_gateways_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisGateways]:
    workdir = tmp_path_factory.mktemp("redis-gateways")
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis_server(workdir))
        first = stack.enter_context(
            running_gateway(workdir, upstream_server, name="first", redis_url=redis.url)
        )
        second = stack.enter_context(
            running_gateway(workdir, upstream_server, name="second", redis_url=redis.url)
        )
        yield RedisGateways(first, second, redis)


@pytest.fixture
def redis_gateways(redis_gateways_module: RedisGateways, upstream: UpstreamServer) -> RedisGateways:
    """The Redis-sharing pair, with a clean upstream and an empty Redis."""
    with redis_gateways_module.redis.client() as client:
        client.flushall()
    return redis_gateways_module


@pytest.fixture
def make_gateway(upstream: UpstreamServer, tmp_path: Path) -> Iterator[GatewayFactory]:
    """Starts gateways with custom options (as for `running_gateway`); stopped after the test."""
    with ExitStack() as stack:

        def make(name: str = "gateway", **options: Any) -> Gateway:
            return stack.enter_context(running_gateway(tmp_path, upstream, name=name, **options))

        yield make


@pytest.fixture(scope="module")
def every_provider_gateway(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    overrides = providers_only(upstream_server, providers(upstream_server.url), ROUTES)
    with running_gateway(
        tmp_path_factory.mktemp("providers"), upstream_server, overrides=overrides
    ) as gateway:
        yield gateway


@pytest.fixture
def openai_sdk(every_provider_gateway: Gateway, upstream: UpstreamServer) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{every_provider_gateway.base_url}/v1", api_key=CLIENT_KEY, max_retries=0
    )


@pytest.fixture
def anthropic_sdk(every_provider_gateway: Gateway, upstream: UpstreamServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=every_provider_gateway.base_url, api_key=CLIENT_KEY, max_retries=0
    )
