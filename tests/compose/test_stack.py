"""The compose stack, from outside, with the official SDKs: decisions, proxied calls (streams
included), a session shared by the two replicas through Redis, a replica killed under load and
a Redis restart."""

from __future__ import annotations

import subprocess
import threading
import time

import anthropic
import httpx
import openai
import pytest

from tests.compose.conftest import compose

CODE = "Write a Python function that implements binary search"
ANSWER = "Hello from the test upstream."
LOAD_CLIENTS = 4
PROVIDER_URL = "http://127.0.0.1:18080"


@pytest.fixture
def oai(stack_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack_url}/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("chat/completions", {"messages": [{"role": "user", "content": CODE}]}),
        ("messages", {"max_tokens": 16, "messages": [{"role": "user", "content": CODE}]}),
        ("responses", {"input": CODE}),
    ],
)
def test_decisions_in_all_three_apis(stack_url: str, path: str, body: dict) -> None:
    response = httpx.post(f"{stack_url}/routing/v1/{path}", json=body, timeout=30)
    assert response.status_code == 200
    assert response.json()["route"] == "code_generation"


def test_proxied_chat_and_stream_with_the_openai_sdk(oai: openai.OpenAI) -> None:
    answer = oai.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == ANSWER
    stream = oai.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == ANSWER


def test_proxied_messages_with_the_anthropic_sdk(stack_url: str) -> None:
    client = anthropic.Anthropic(base_url=stack_url, api_key="unused", max_retries=0)
    message = client.messages.create(
        model="anthropic/claude-sonnet-4-20250514",
        max_tokens=32,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert message.content[0].text == ANSWER
    with client.messages.stream(
        model="anthropic/claude-sonnet-4-20250514",
        max_tokens=32,
        messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER


def test_a_session_pinned_by_one_replica_is_honoured_by_the_other(stack_url: str) -> None:
    headers = {"x-session-id": f"compose-{time.time_ns()}"}
    body = {"messages": [{"role": "user", "content": CODE}]}
    first = httpx.post(f"{stack_url}/routing/v1/chat/completions", json=body, headers=headers)
    later = [
        httpx.post(
            f"{stack_url}/routing/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "and now explain it"}]},
            headers=headers,
        )
        for _ in range(8)
    ]
    # Envoy spreads streams over both replicas: eight pinned answers come from both.
    assert all(r.json()["pinned"] for r in later)
    assert {r.json()["models"][0] for r in later} == {first.json()["models"][0]}


def _steady_load(stack_url: str, stop: threading.Event, outcomes: list[tuple[float, int]]) -> None:
    body = {"messages": [{"role": "user", "content": "hello"}]}
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            try:
                status = client.post(f"{stack_url}/routing/v1/chat/completions", json=body)
                outcomes.append((time.monotonic(), status.status_code))
            except httpx.HTTPError:
                outcomes.append((time.monotonic(), 0))


def _under_load(stack_url: str, fault: callable, settle_s: float) -> tuple[list, float]:  # type: ignore[valid-type]
    stop, outcomes = threading.Event(), []
    clients = [
        threading.Thread(target=_steady_load, args=(stack_url, stop, outcomes))
        for _ in range(LOAD_CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(1)
    fault()
    at = time.monotonic()
    time.sleep(settle_s)
    stop.set()
    for client in clients:
        client.join(40)
    return outcomes, at


# Envoy's health checks (every second, a 1 s timeout, two misses) eject a vanished replica
# within about four seconds; streams sent to it fail until then.
EJECTED_WITHIN_S = 6


def test_killing_one_replica_under_load(stack_url: str) -> None:
    replica = compose("ps", "-q", "extproc").stdout.split()[0]
    outcomes, killed_at = _under_load(
        stack_url, lambda: subprocess_kill(replica), settle_s=EJECTED_WITHIN_S + 4
    )
    failed = [t for t, status in outcomes if status != 200]
    late = [t for t in failed if t > killed_at + EJECTED_WITHIN_S]
    print(
        f"replica kill: {len(outcomes)} requests, {len(failed)} failed, "
        f"{len(late)} after {EJECTED_WITHIN_S} s"
    )
    assert len(outcomes) > 0
    assert late == []
    compose("up", "-d", "--no-recreate")


def subprocess_kill(container: str) -> None:
    subprocess.run(["docker", "kill", container], check=True, capture_output=True)


def test_a_redis_restart_degrades_to_unpinned_without_errors(stack_url: str) -> None:
    outcomes, _ = _under_load(stack_url, lambda: compose("restart", "redis"), settle_s=4)
    statuses = {status for _, status in outcomes}
    print(f"redis restart: {len(outcomes)} requests, statuses {sorted(statuses)}")
    assert statuses == {200}


def test_a_rate_limited_model_fails_over_inside_the_stack(
    stack_url: str, oai: openai.OpenAI
) -> None:
    # The provider's replies are scripted from outside (its /_mock/script endpoint).
    order = {"model": "gpt-4o", "replies": [{"status": 429}]}
    assert httpx.post(f"{PROVIDER_URL}/_mock/script", json=order).status_code == 200

    raw = oai.chat.completions.with_raw_response.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )

    assert raw.headers["x-plano-model"] == "anthropic/claude-sonnet-4-20250514"
    assert raw.headers["x-plano-attempts"].startswith("openai/gpt-4o;status=429")
