"""The attempt filter's stream, message by message: which model each attempt goes to, what
Envoy is told to do after a failure, and what the client receives."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from plano_extproc.affinity.base import Pin
from plano_extproc.affinity.memory import MemoryAffinityStore
from plano_extproc.config import load_config_text
from plano_extproc.config.model import Config
from plano_extproc.config.upstreams import upstreams_for
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.headers import (
    ATTEMPT_TIMEOUT_HEADER,
    ATTEMPTS_HEADER,
    CLUSTER_HEADER,
    NO_RETRY_HEADER,
    RETRY_HEADER,
    UPSTREAM_TIMEOUT_HEADER,
)
from plano_extproc.contract.metadata import (
    ATTEMPTS_KEY,
    FAILOVER_KEY,
    FIRST_RETRY_AFTER_KEY,
    FIRST_STATUS_KEY,
    METADATA_NAMESPACE,
    NEXT_KEY,
    TRANSLATION_KEY,
)
from plano_extproc.extproc.attempts import AttemptStream
from plano_extproc.extproc.failover_setup import Failover
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    HeaderMap,
    HeaderValue,
    HttpBody,
    HttpHeaders,
    ProcessingRequest,
)
from plano_extproc.extproc.provider_request import provider_plan
from plano_extproc.failover.blocks import MemoryBlockStore
from plano_extproc.failover.plan import FailoverPlan
from plano_extproc.routing.decision import Decision
from tests.support.clock import FakeClock

CONFIG = """
version: v0.4.0
model_providers:
  - model: openai/gpt-4o
    access_key: $OPENAI_KEY
    retry_policy:
      fallback_models: [anthropic/claude-sonnet-4-20250514, openai/gpt-4o-mini]
      default_max_attempts: 1
      retry_after_handling: {apply_to: global, max_retry_after_seconds: 60}
      on_high_latency: {threshold_ms: 1000, min_triggers: 2, block_duration_seconds: 30}
  - model: openai/gpt-4o-mini
    access_key: $OPENAI_KEY
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_KEY
  - model: groq/llama-3.3-70b
    access_key: $GROQ_KEY
"""
ENV = {"OPENAI_KEY": "sk-test-openai", "ANTHROPIC_KEY": "sk-ant-test"}
GPT, CLAUDE, MINI = "openai/gpt-4o", "anthropic/claude-sonnet-4-20250514", "openai/gpt-4o-mini"
BODY = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": 1})
PLAN = FailoverPlan((GPT, CLAUDE, MINI), GPT, ClientApi.CHAT, "", "session-key", "coding")


@pytest.fixture
def config() -> Config:
    return load_config_text(CONFIG, ENV, require_keys=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def failover_for(config: Config, clock: FakeClock) -> Failover:
    upstreams = upstreams_for(config)
    plans = {p.name: provider_plan(p, upstreams[p.name]) for p in config.providers}
    return Failover(
        config,
        plans,
        MemoryAffinityStore(600, 100),
        blocks=MemoryBlockStore(clock),
        clock=clock,
    )


@pytest.fixture
def failover(config: Config, clock: FakeClock) -> Failover:
    return failover_for(config, clock)


def _with_metadata(message: ProcessingRequest, namespace: dict[str, Any]) -> ProcessingRequest:
    struct = Struct()
    struct.update(namespace)
    message.metadata_context.filter_metadata[METADATA_NAMESPACE].CopyFrom(struct)
    return message


def _headers(pairs: dict[str, str]) -> HttpHeaders:
    values = [HeaderValue(key=k, raw_value=v.encode()) for k, v in pairs.items()]
    return HttpHeaders(headers=HeaderMap(headers=values))


def request_body(
    attempts: list[dict[str, Any]], upcoming: dict[str, Any] | None = None
) -> ProcessingRequest:
    namespace: dict[str, Any] = {FAILOVER_KEY: PLAN.to_json(), ATTEMPTS_KEY: attempts}
    if upcoming is not None:
        namespace[NEXT_KEY] = upcoming
    message = ProcessingRequest(request_body=HttpBody(body=BODY, end_of_stream=True))
    return _with_metadata(message, namespace)


def response_headers(status: int, end_of_stream: bool = False, **extra: str) -> ProcessingRequest:
    pairs = {":status": str(status), "content-type": "application/json", **extra}
    headers = _headers(pairs)
    headers.end_of_stream = end_of_stream
    return ProcessingRequest(response_headers=headers)


def metadata(reply: Any) -> dict[str, Any]:
    return json_format.MessageToDict(reply.dynamic_metadata)[METADATA_NAMESPACE]


def set_headers(mutation: Any) -> dict[str, str]:
    return {h.header.key: h.header.raw_value.decode() for h in mutation.set_headers}


async def started(
    failover: Failover, attempts: list[dict[str, Any]] | None = None, **upcoming: Any
) -> AttemptStream:
    stream = AttemptStream(failover)
    await stream.on_request_body(request_body(attempts or [], upcoming or None))
    return stream


async def test_the_first_attempt_goes_to_the_first_candidate(failover: Failover) -> None:
    reply = await AttemptStream(failover).on_request_body(request_body([]))

    common = reply.request_body.response
    headers = set_headers(common.header_mutation)
    assert headers[CLUSTER_HEADER].startswith("upstream_api_openai_com")
    assert headers["authorization"] == "Bearer sk-test-openai"
    assert not common.body_mutation.body  # already the provider's model id: sent as it came
    assert metadata(reply)[ATTEMPTS_KEY] == [{"model": GPT, "status": 0}]
    assert metadata(reply)["model"] == GPT
    assert ATTEMPT_TIMEOUT_HEADER not in headers  # no on_timeout: the listener timeout


async def test_every_attempt_under_on_timeout_names_the_attempt_timeout(clock: FakeClock) -> None:
    timed = CONFIG.replace(
        "      default_max_attempts: 1\n",
        "      default_max_attempts: 1\n      on_timeout: {attempt_timeout_seconds: 1.5}\n",
    )
    failover = failover_for(load_config_text(timed, ENV, require_keys=False), clock)

    first = await AttemptStream(failover).on_request_body(request_body([]))
    retry = await AttemptStream(failover).on_request_body(
        request_body([{"model": GPT, "status": 504, "timeout": True}], {"model": CLAUDE})
    )

    for reply in (first, retry):
        headers = set_headers(reply.request_body.response.header_mutation)
        assert headers[ATTEMPT_TIMEOUT_HEADER] == "1500"


async def test_a_retry_goes_where_the_last_attempt_said_after_its_delay(
    failover: Failover,
) -> None:
    began = time.monotonic()
    reply = await AttemptStream(failover).on_request_body(
        request_body([{"model": GPT, "status": 429}], {"model": CLAUDE, "delay_ms": 50})
    )
    assert time.monotonic() - began >= 0.05

    common = reply.request_body.response
    assert set_headers(common.header_mutation)["authorization"] == "Bearer sk-ant-test"
    assert orjson.loads(common.body_mutation.body)["model"] == "claude-sonnet-4-20250514"
    assert orjson.loads(common.body_mutation.body)["n"] == 1
    assert [a["model"] for a in metadata(reply)[ATTEMPTS_KEY]] == [GPT, CLAUDE]


async def test_an_attempt_to_a_model_speaking_another_api_is_translated(clock: FakeClock) -> None:
    native = CONFIG.replace(
        "  - model: anthropic/claude-sonnet-4-20250514\n    access_key: $ANTHROPIC_KEY\n",
        "  - model: anthropic/claude-sonnet-4-20250514\n    access_key: $ANTHROPIC_KEY\n"
        "    upstream_api: messages\n",
    )
    failover = failover_for(load_config_text(native, ENV, require_keys=False), clock)

    reply = await AttemptStream(failover).on_request_body(
        request_body([{"model": GPT, "status": 429}], {"model": CLAUDE, "delay_ms": 0})
    )

    common = reply.request_body.response
    assert set_headers(common.header_mutation)[":path"] == "/v1/messages"
    assert orjson.loads(common.body_mutation.body) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert metadata(reply)[TRANSLATION_KEY] == "chat_to_anthropic"


async def test_a_retriable_failure_asks_envoy_for_a_retry(failover: Failover) -> None:
    stream = await started(failover)

    reply = await stream.on_response_headers(response_headers(503))

    mutation = reply.response_headers.response.header_mutation
    assert set_headers(mutation) == {RETRY_HEADER: "1"}
    # Envoy drops the failed answer: its body is not sent to the service.
    assert reply.HasField("mode_override")
    assert metadata(reply)[NEXT_KEY] == {"model": CLAUDE, "delay_ms": 0}
    assert metadata(reply)[ATTEMPTS_KEY] == [{"model": GPT, "status": 503}]


async def test_a_global_retry_after_blocks_the_model(failover: Failover) -> None:
    stream = await started(failover)

    await stream.on_response_headers(response_headers(429, **{"retry-after": "20"}))

    assert await failover.blocks.blocked([GPT, CLAUDE]) == {GPT}
    decision = Decision((GPT,), None, "0" * 32, None)
    provider = failover.plans[GPT].provider
    assert await failover.candidates(provider, decision) == (CLAUDE, MINI, GPT)


async def test_the_last_allowed_failure_becomes_retry_exhausted(failover: Failover) -> None:
    stream = await started(failover, [{"model": GPT, "status": 429}], model=CLAUDE, delay_ms=0)

    reply = await stream.on_response_headers(
        response_headers(504, **{UPSTREAM_TIMEOUT_HEADER: "1"})
    )
    first = await stream.on_response_body(b'{"error": "upstream', False)
    rest = await stream.on_response_body(b' timeout"}', True)

    mutation = reply.response_headers.response.header_mutation
    assert set_headers(mutation)[ATTEMPTS_HEADER] == (
        "openai/gpt-4o;status=429, anthropic/claude-sonnet-4-20250514;status=504"
    )
    assert "content-length" in mutation.remove_headers
    error = orjson.loads(first.response_body.response.body_mutation.body)["error"]
    assert error["type"] == "retry_exhausted"
    assert error["attempts"][1] == {"model": CLAUDE, "status": 504, "timeout": True}
    assert rest.response_body.response.body_mutation.clear_body


async def test_an_exhausted_answer_without_a_body_is_answered_whole(failover: Failover) -> None:
    stream = await started(failover, [{"model": GPT, "status": 429}], model=CLAUDE, delay_ms=0)

    reply = await stream.on_response_headers(response_headers(429, end_of_stream=True))

    assert reply.immediate_response.status.code == 429
    assert orjson.loads(reply.immediate_response.body)["error"]["total_attempts"] == 2


async def test_a_client_error_passes_on_and_a_providers_retry_header_is_dropped(
    failover: Failover,
) -> None:
    stream = await started(failover)

    reply = await stream.on_response_headers(response_headers(400, **{RETRY_HEADER: "1"}))

    mutation = reply.response_headers.response.header_mutation
    assert RETRY_HEADER in mutation.remove_headers
    assert set_headers(mutation)[ATTEMPTS_HEADER] == "openai/gpt-4o;status=400"
    # Total latency is measured (on_high_latency), so the body still comes by.
    assert not reply.HasField("mode_override")


async def test_success_after_a_failover_re_pins_the_session(failover: Failover) -> None:
    await failover.affinity.put("session-key", Pin(GPT, "coding"))
    stream = await started(failover, [{"model": GPT, "status": 429}], model=CLAUDE, delay_ms=0)

    await stream.on_response_headers(response_headers(200))

    assert await failover.affinity.get("session-key") == Pin(CLAUDE, "coding")


async def test_repeated_slow_answers_block_the_model(failover: Failover, clock: FakeClock) -> None:
    for expected in (set(), {GPT}):
        stream = await started(failover)
        await stream.on_response_headers(response_headers(200))
        clock.advance(1.5)
        await stream.on_response_body(b"{}", True)
        assert await failover.blocks.blocked([GPT]) == expected


async def test_an_attempt_without_a_plan_is_refused(failover: Failover) -> None:
    message = ProcessingRequest(request_body=HttpBody(body=BODY, end_of_stream=True))

    reply = await AttemptStream(failover).on_request_body(message)

    assert reply.immediate_response.status.code == 502


async def test_candidates_skip_providers_without_a_key(failover: Failover, config: Config) -> None:
    provider = config.provider_by_name[GPT]
    routed = Decision((GPT, "groq/llama-3.3-70b"), "coding", "0" * 32, None)
    # fallback_models win over the ranking; groq (no key) would never be usable anyway.
    assert await failover.candidates(provider, routed) == (GPT, CLAUDE, MINI)


async def test_an_attempt_for_a_model_this_replica_lacks_is_refused(failover: Failover) -> None:
    message = request_body([{"model": GPT, "status": 429}], {"model": "openai/gone", "delay_ms": 0})

    reply = await AttemptStream(failover).on_request_body(message)

    assert reply.immediate_response.status.code == 502
    assert b"openai/gone" in reply.immediate_response.body


def _after_envoy_judged_first(status: str, **recorded: str) -> ProcessingRequest:
    namespace: dict[str, Any] = {
        FAILOVER_KEY: {**PLAN.to_json(), "first": True},
        ATTEMPTS_KEY: [],
        FIRST_STATUS_KEY: status,
        **recorded,
    }
    message = ProcessingRequest(request_body=HttpBody(body=BODY, end_of_stream=True))
    return _with_metadata(message, namespace)


async def test_the_attempt_after_one_envoy_judged_decides_as_the_filter_would_have(
    failover: Failover, clock: FakeClock
) -> None:
    message = _after_envoy_judged_first("429", **{FIRST_RETRY_AFTER_KEY: "7"})

    reply = await AttemptStream(failover).on_request_body(message)

    assert set_headers(reply.request_body.response.header_mutation)[CLUSTER_HEADER] == (
        failover.plans[CLAUDE].upstream.cluster
    )
    assert metadata(reply)[ATTEMPTS_KEY] == [
        {"model": GPT, "status": 429},
        {"model": CLAUDE, "status": 0},
    ]
    # Its Retry-After (apply_to: global) blocks the first model for new requests.
    assert await failover.blocks.blocked([GPT, CLAUDE]) == {GPT}


async def test_a_first_attempt_without_a_recorded_answer_goes_to_the_first_model(
    failover: Failover,
) -> None:
    namespace = {FAILOVER_KEY: {**PLAN.to_json(), "first": True}, ATTEMPTS_KEY: []}
    message = ProcessingRequest(request_body=HttpBody(body=BODY, end_of_stream=True))

    reply = await AttemptStream(failover).on_request_body(_with_metadata(message, namespace))

    assert metadata(reply)[ATTEMPTS_KEY] == [{"model": GPT, "status": 0}]


@pytest.mark.parametrize(
    ("status", "vetoed"), [(200, False), (400, True), (429, True)], ids=["ok", "final", "spent"]
)
async def test_an_answer_not_retried_tells_envoy_not_to_retry_its_status(
    failover: Failover, status: int, vetoed: bool
) -> None:
    stream = AttemptStream(failover)
    spent = [{"model": GPT, "status": 429}, {"model": CLAUDE, "status": 429}]
    await stream.on_request_body(request_body(spent, {"model": MINI, "delay_ms": 0}))

    reply = await stream.on_response_headers(response_headers(status))

    mutation = reply.response_headers.response.header_mutation
    assert (NO_RETRY_HEADER in set_headers(mutation)) is vetoed
