"""Large bodies: handled off the event loop, and only a few at once per worker."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import AsyncIterator

import orjson
import pytest

import plano_extproc.extproc.gateway as gateway_module
from plano_extproc.config.model import Config
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.offload import (
    LARGE_BODY_BYTES,
    LARGE_BODY_SWITCH_INTERVAL_SECONDS,
    Offload,
    TooManyLargeBodies,
    _LargeBodyMode,
)
from plano_extproc.routing.router import Router
from tests.extproc.test_gateway import immediate, post

SMALL = b"x" * 100
LARGE = b"x" * (LARGE_BODY_BYTES + 1)


def _large_chat() -> dict[str, object]:
    filler = "word " * (LARGE_BODY_BYTES // 5)
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": filler}]}


async def test_small_work_runs_here_and_large_work_in_the_pool() -> None:
    offload = Offload()
    here = threading.get_ident()
    assert await offload.run(SMALL, threading.get_ident) == here
    assert await offload.run(LARGE, threading.get_ident) != here
    offload.close()


def test_admission_holds_a_slot_per_large_body_only() -> None:
    offload = Offload(max_in_flight=1)
    with (
        offload.admitted(LARGE),
        offload.admitted(SMALL),
        pytest.raises(TooManyLargeBodies),
        offload.admitted(LARGE),
    ):
        pass
    with offload.admitted(LARGE):
        pass
    offload.close()


@pytest.fixture
async def one_slot_gateway(config: Config) -> AsyncIterator[Gateway]:
    router = await Router.start(config)
    gateway = Gateway(config, router, offload=Offload(max_in_flight=1))
    yield gateway
    await gateway.close()
    await router.close()


async def test_a_large_body_is_parsed_off_the_loop_and_one_too_many_gets_a_429(
    one_slot_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release, threads = threading.Event(), threading.Event(), []
    parse = gateway_module.parse_request

    def slow_parse(api: object, raw: bytes, **kwargs: object) -> object:
        if Offload.is_large(raw):
            threads.append(threading.get_ident())
            started.set()
            release.wait(10)
        return parse(api, raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway_module, "parse_request", slow_parse)
    first = asyncio.create_task(post(one_slot_gateway, "/v1/chat/completions", _large_chat()))
    assert await asyncio.to_thread(started.wait, 10)

    status, body = immediate(await post(one_slot_gateway, "/v1/chat/completions", _large_chat()))
    small = await post(
        one_slot_gateway,
        "/routing/v1/chat/completions",
        {"messages": [{"role": "user", "content": "hi"}]},
    )
    release.set()
    forwarded = await first

    assert threads[0] != threading.get_ident()
    assert status == 429
    assert body["error"]["details"]["reason"] == "too_many_large_requests"
    assert small.HasField("immediate_response")
    assert forwarded.HasField("request_body")
    assert orjson.loads(small.immediate_response.body)["models"]


def test_large_bodies_in_flight_pause_the_collector_and_shorten_the_switch_interval() -> None:
    mode, interval = _LargeBodyMode(), sys.getswitchinterval()
    assert gc.isenabled()
    with mode.held():
        with mode.held():
            assert not gc.isenabled()
            assert sys.getswitchinterval() == LARGE_BODY_SWITCH_INTERVAL_SECONDS
        assert not gc.isenabled()  # one body is still in flight
    assert gc.isenabled()
    assert sys.getswitchinterval() == interval


async def test_a_large_body_is_worked_on_in_large_body_mode() -> None:
    offload = Offload()
    try:
        seen = await offload.run(LARGE, gc.isenabled)
    finally:
        offload.close()
    assert seen is False
    assert gc.isenabled()
