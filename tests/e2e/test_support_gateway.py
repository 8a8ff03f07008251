"""The gateway fixtures: the test config they write, and the composed processes answering."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from plano_extproc.config import load_config
from plano_extproc.config.model import SessionCacheType
from tests.e2e.conftest import GatewayFactory, RedisGateways
from tests.support.gateway import (
    ANTHROPIC_MODEL,
    DEFAULT_MODEL,
    TEST_KEYS,
    Gateway,
    write_gateway_config,
)
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

UPSTREAM_URL = "http://127.0.0.1:9"
CODE_REQUEST = {"messages": [{"role": "user", "content": "Implement a linked list in Java"}]}
SMALL_TALK = {"messages": [{"role": "user", "content": "hello there"}]}


def test_config_loads_and_points_every_provider_at_the_upstream(tmp_path: Path) -> None:
    path = write_gateway_config(tmp_path / "config.yaml", UPSTREAM_URL, 12000)

    config = load_config(path, env=TEST_KEYS)

    assert {provider.base_url for provider in config.providers} == {UPSTREAM_URL}
    assert [p.name for p in config.providers if p.default] == [DEFAULT_MODEL]
    assert [route.name for route in config.routes] == ["code_generation", "complex_reasoning"]
    assert config.routing.session_cache.type is SessionCacheType.MEMORY
    assert (config.listeners[0].address, config.listeners[0].port) == ("127.0.0.1", 12000)


def test_config_takes_redis_classifier_timeout_and_overrides(tmp_path: Path) -> None:
    path = write_gateway_config(
        tmp_path / "config.yaml",
        UPSTREAM_URL,
        12000,
        redis_url="redis://127.0.0.1:6390/0",
        classifier_timeout_ms=50,
        overrides={"model_aliases": {"claude": {"target": ANTHROPIC_MODEL}}},
    )

    config = load_config(path, env=TEST_KEYS)

    assert config.routing.session_cache.type is SessionCacheType.REDIS
    assert config.routing.session_cache.url == "redis://127.0.0.1:6390/0"
    assert config.routing.classifier.timeout_ms == 50
    assert list(config.aliases) == ["claude"]


def test_gateway_routes_and_proxies(gateway: Gateway, upstream: UpstreamServer) -> None:
    decision = httpx.post(f"{gateway.base_url}/routing/v1/chat/completions", json=CODE_REQUEST)
    proxied = httpx.post(
        f"{gateway.base_url}/v1/chat/completions", json={"model": "openai/gpt-4o", **SMALL_TALK}
    )

    assert decision.json()["route"] == "code_generation", gateway.log_tails()
    assert proxied.status_code == 200, gateway.log_tails()
    (forwarded,) = upstream.requests
    assert (forwarded.path, forwarded.json["model"]) == ("/v1/chat/completions", "gpt-4o")


def test_redis_gateways_share_pins(redis_gateways: RedisGateways) -> None:
    first, second = redis_gateways.first, redis_gateways.second
    headers = {"x-model-affinity": "shared-session"}

    pinned = httpx.post(
        f"{first.base_url}/routing/v1/chat/completions", json=CODE_REQUEST, headers=headers
    )
    follow_up = httpx.post(
        f"{second.base_url}/routing/v1/chat/completions",
        json=SMALL_TALK,
        headers=headers,
    )

    assert first.extproc.pid != second.extproc.pid
    assert follow_up.json()["pinned"] is True, second.log_tails()
    assert follow_up.json()["models"] == pinned.json()["models"][:1]


def test_make_gateway_starts_workers(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(workers=2, classifier_timeout_ms=100)

    assert len(gateway.extproc_ports) == 2
    assert httpx.get(f"{gateway.base_url}/healthz").status_code == 200
    assert httpx.get(f"{gateway.admin_url}/ready").status_code == 200
