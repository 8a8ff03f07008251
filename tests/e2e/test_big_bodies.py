"""A burst of large bodies does not take the gateway offline: parsing and translating them runs
off the ext_proc's event loop, so its health checks and other requests keep being answered;
beyond a few at once per worker, more large bodies get a 429."""

from __future__ import annotations

import threading

import httpx
import orjson
import pytest

from tests.e2e.conftest import GatewayFactory
from tests.support.gateway import NATIVE_ANTHROPIC_MODEL, Gateway

pytestmark = pytest.mark.e2e

BURST = 4
SHORT_MESSAGES = 100_000  # about 3.5 MB of JSON: many short turns


def _big_body() -> bytes:
    turns = [
        {"role": "user" if index % 2 == 0 else "assistant", "content": f"note {index}"}
        for index in range(SHORT_MESSAGES - 1)
    ]
    turns.append({"role": "user", "content": "summarise"})
    return orjson.dumps({"model": NATIVE_ANTHROPIC_MODEL, "max_tokens": 16, "messages": turns})


def test_small_requests_are_served_during_a_burst_of_large_ones(gateway: Gateway) -> None:
    big = _big_body()
    url = f"{gateway.base_url}/v1/chat/completions"
    big_statuses: list[int] = []

    def send_big() -> None:
        response = httpx.post(
            url, content=big, headers={"content-type": "application/json"}, timeout=60
        )
        big_statuses.append(response.status_code)

    senders = [threading.Thread(target=send_big) for _ in range(BURST)]
    for sender in senders:
        sender.start()
    small_statuses = []
    decision = {"messages": [{"role": "user", "content": "hello"}]}
    while any(sender.is_alive() for sender in senders):
        small = httpx.post(f"{gateway.base_url}/routing/v1/chat/completions", json=decision)
        small_statuses.append(small.status_code)
    for sender in senders:
        sender.join()

    assert small_statuses
    assert set(small_statuses) == {200}, gateway.log_tails()
    assert set(big_statuses) <= {200, 429}
    assert 200 in big_statuses


def test_a_translated_burst_with_the_embedded_classifier_loses_nothing(
    make_gateway: GatewayFactory,
) -> None:
    """A real deployment's defaults: one worker, the embedded classifier, and six big chat
    requests translated to the Anthropic provider while small ones flow from 8 clients."""
    routing = {"session_cache": {"type": "memory"}, "classifier": {"type": "embedded"}}
    gateway = make_gateway(workers=1, overrides={"routing": routing})
    big = _big_body()
    big_statuses: list[int] = []
    small_statuses: list[int] = []
    stop = threading.Event()

    def send_small() -> None:
        with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
            while not stop.is_set():
                body = {
                    "model": "openai/gpt-4o-mini",
                    "messages": [{"role": "user", "content": "hi"}],
                }
                small_statuses.append(client.post("/v1/chat/completions", json=body).status_code)

    def send_big() -> None:
        response = httpx.post(
            f"{gateway.base_url}/v1/chat/completions",
            content=big,
            headers={"content-type": "application/json"},
            timeout=60,
        )
        big_statuses.append(response.status_code)

    smalls = [threading.Thread(target=send_small) for _ in range(8)]
    bigs = [threading.Thread(target=send_big) for _ in range(6)]
    for thread in smalls:
        thread.start()
    for thread in bigs:
        thread.start()
    for thread in bigs:
        thread.join()
    stop.set()
    for thread in smalls:
        thread.join()

    assert big_statuses == [200] * 6, gateway.log_tails()
    assert len(small_statuses) > 100
    assert set(small_statuses) == {200}, gateway.log_tails()
