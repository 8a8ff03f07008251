"""A burst of large bodies does not take the gateway offline: parsing and translating them runs
off the ext_proc's event loop, so its health checks and other requests keep being answered;
beyond a few at once per worker, more large bodies get a 429."""

from __future__ import annotations

import threading

import httpx
import orjson
import pytest

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
