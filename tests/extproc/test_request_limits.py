"""The routing filter's charge under `ratelimits`, and the response side's correction."""

from __future__ import annotations

import orjson
from google.protobuf.struct_pb2 import Struct
from prometheus_client import REGISTRY

from plano_extproc.config import load_config_text
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.metadata import METADATA_NAMESPACE, set_strings
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    HeaderMap,
    HeaderValue,
    HttpHeaders,
    ProcessingRequest,
)
from plano_extproc.extproc.request_limits import (
    CHARGE_KEY,
    Admitted,
    Charge,
    RequestLimits,
    budget_checked,
    budget_noted,
)
from plano_extproc.extproc.usage_correction import UsageCorrection
from plano_extproc.ratelimit.gcra import Quota
from plano_extproc.ratelimit.limiter import RateLimiter
from plano_extproc.ratelimit.store import MemoryBucketStore
from plano_extproc.routing.decision import (
    CHARGED,
    CHECKED,
    LIMITED,
    BudgetCheck,
    Decision,
    Fallback,
)
from plano_extproc.wire import parse_request
from plano_extproc.wire.ir import Denial, ErrorKind

CONFIG = """
version: v0.4.0
model_providers:
  - {model: openai/gpt-4o, access_key: k}
  - {model: openai/gpt-4o-mini, access_key: k}
ratelimits:
  - model: openai/gpt-4o
    selector: {key: x-user-id, value: "*"}
    limit: {tokens: 40, unit: minute}
  - model: openai/gpt-4o-mini
    selector: {key: x-user-id, value: tiny}
    limit: {tokens: 1, unit: minute}
"""
GPT, MINI = "openai/gpt-4o", "openai/gpt-4o-mini"
USED = "plano_ratelimit_used_tokens_total"
BODY = {"model": GPT, "messages": [{"role": "user", "content": "Explain GCRA rate limiting"}]}


def limits() -> tuple[RequestLimits, MemoryBucketStore]:
    config = load_config_text(CONFIG, {})
    store = MemoryBucketStore()
    return RequestLimits(config, limiter=RateLimiter(config.ratelimits, store)), store


def parsed():  # type: ignore[no-untyped-def]
    return parse_request(ClientApi.CHAT, orjson.dumps(BODY))


def routed() -> Decision:
    return Decision((GPT, MINI), "explain", "0" * 32)


async def test_an_explicit_model_is_charged_until_its_bucket_is_empty() -> None:
    request_limits, _ = limits()
    config = load_config_text(CONFIG, {})
    gpt = config.provider_by_name[GPT]
    unrouted = Decision(("none",), None, "0" * 32)
    headers = {"x-user-id": "ann"}

    results = [await request_limits.admit(unrouted, gpt, parsed(), headers, b"") for _ in range(5)]

    admitted = [r for r in results if isinstance(r, Admitted)]
    refused = [r for r in results if isinstance(r, Denial)]
    assert admitted
    assert refused
    assert admitted[0].charge is not None
    assert admitted[0].charge.tokens > 0
    assert refused[0].status == 429
    assert refused[0].retry_after is not None


async def test_a_routed_request_moves_to_the_next_model_with_room() -> None:
    request_limits, _ = limits()
    config = load_config_text(CONFIG, {})
    gpt = config.provider_by_name[GPT]
    headers = {"x-user-id": "ben"}
    for _ in range(10):
        await request_limits.admit(routed(), gpt, parsed(), headers, b"")

    moved = await request_limits.admit(routed(), gpt, parsed(), headers, b"")

    assert isinstance(moved, Admitted)
    assert moved.provider.name == MINI
    assert moved.decision.models == (MINI,)
    assert moved.decision.fallback is Fallback.RATELIMITED
    assert moved.charge is None  # the mini entry only counts `tiny`


async def test_a_request_larger_than_every_limit_is_refused_without_a_wait() -> None:
    request_limits, _ = limits()
    config = load_config_text(CONFIG, {})
    mini = config.provider_by_name[MINI]
    unrouted = Decision(("none",), None, "0" * 32)

    refused = await request_limits.admit(unrouted, mini, parsed(), {"x-user-id": "tiny"}, b"")

    assert isinstance(refused, Denial)
    assert refused.retry_after is None
    assert "on their own" in refused.message


def test_a_charge_round_trips_through_metadata_json() -> None:
    charge = Charge((("k", Quota(40, 60)),), 12, ClientApi.MESSAGES, GPT)

    again = Charge.from_json(charge.to_json())

    assert again is not None
    assert (again.tokens, again.api, again.buckets[0][0]) == (12, ClientApi.MESSAGES, "k")
    assert Charge.from_json("{not json") is None


def _response_headers(status: int, charge: Charge) -> ProcessingRequest:
    headers = [
        HeaderValue(key=":status", raw_value=str(status).encode()),
        HeaderValue(key="content-type", raw_value=b"application/json"),
    ]
    message = ProcessingRequest(response_headers=HttpHeaders(headers=HeaderMap(headers=headers)))
    metadata = Struct()
    set_strings(metadata, {CHARGE_KEY: charge.to_json()})
    message.metadata_context.filter_metadata[METADATA_NAMESPACE].CopyFrom(
        metadata.fields[METADATA_NAMESPACE].struct_value
    )
    return message


async def test_the_answer_corrects_the_charge_to_its_reported_usage() -> None:
    request_limits, store = limits()
    charge = Charge((("u", Quota(1000, 60)),), 10, ClientApi.CHAT, GPT)
    await store.take(list(charge.buckets), 10)
    answer = {"usage": {"prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50}}

    correction = UsageCorrection.start(request_limits, _response_headers(200, charge), None)
    assert correction is not None
    correction.feed(orjson.dumps(answer))
    await correction.finish()
    await request_limits.drain()

    (available,) = await store.available(list(charge.buckets))
    assert round(available) == 950


async def test_a_failed_answer_gives_the_charge_back() -> None:
    request_limits, store = limits()
    charge = Charge((("f", Quota(1000, 60)),), 10, ClientApi.CHAT, GPT)
    await store.take(list(charge.buckets), 10)

    correction = UsageCorrection.start(request_limits, _response_headers(503, charge), None)
    assert correction is not None
    correction.feed(b'{"error": {"message": "overloaded"}}')
    await correction.finish()
    await request_limits.drain()

    (available,) = await store.available(list(charge.buckets))
    assert round(available) == 1000


def _with_attempts(message: ProcessingRequest, attempts: str) -> ProcessingRequest:
    header = HeaderValue(key="x-plano-attempts", raw_value=attempts.encode())
    message.response_headers.headers.headers.append(header)
    return message


def test_a_failover_charge_round_trips_with_its_alternates() -> None:
    alternates = ((MINI, (("m", Quota(5, 1)),)),)
    charge = Charge((("k", Quota(40, 60)),), 12, ClientApi.CHAT, GPT, alternates)

    again = Charge.from_json(charge.to_json())

    assert again == charge
    assert again.alternate(MINI) == (("m", Quota(5, 1)),)
    assert again.alternate("other/model") is None


async def test_a_fallback_answer_is_counted_on_the_model_that_gave_it() -> None:
    request_limits, store = limits()
    alternates = ((MINI, (("v", Quota(1000, 60)),)),)
    charge = Charge((("u", Quota(1000, 60)),), 10, ClientApi.CHAT, GPT, alternates)
    await store.take(list(charge.buckets), 10)
    answer = {"usage": {"prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50}}
    headers = _with_attempts(_response_headers(200, charge), f"{GPT};status=503, {MINI};status=200")

    used_before = REGISTRY.get_sample_value(USED, {"model": MINI}) or 0.0

    correction = UsageCorrection.start(request_limits, headers, None)
    assert correction is not None
    correction.feed(orjson.dumps(answer))
    await correction.finish()
    await request_limits.drain()

    assert REGISTRY.get_sample_value(USED, {"model": MINI}) == used_before + 50
    # The first model's charge is given back; the fallback's bucket pays what was used.
    assert [round(a) for a in await store.available(list(charge.buckets))] == [1000]
    assert [round(a) for a in await store.available(list(alternates[0][1]))] == [950]


async def test_a_failover_request_carries_the_buckets_of_its_later_candidates() -> None:
    request_limits, _ = limits()
    charge = Charge((("u", Quota(40, 60)),), 10, ClientApi.CHAT, GPT)
    body = orjson.dumps(BODY)

    # MINI's entry counts only `x-user-id: tiny`.
    other = await request_limits.for_failover(
        charge, [GPT, MINI], parsed(), {"x-user-id": "a"}, body
    )
    tiny = await request_limits.for_failover(
        charge, [GPT, MINI], parsed(), {"x-user-id": "tiny"}, body
    )
    # Not charged on the first model, but a fallback has an entry: its answer is still counted.
    uncharged = await request_limits.for_failover(
        None, [GPT, MINI], parsed(), {"x-user-id": "tiny"}, body
    )

    assert other is charge
    assert tiny is not None
    assert tiny.buckets == charge.buckets
    assert [name for name, _ in tiny.alternates] == [MINI]
    assert tiny.alternate(MINI)
    assert uncharged is not None
    assert uncharged.buckets == ()
    assert uncharged.tokens > 0


def test_the_decision_span_learns_what_the_rate_limits_did() -> None:
    decision = routed()
    charge = Charge((("u", Quota(40, 60)),), 10, ClientApi.CHAT, GPT)
    provider = load_config_text(CONFIG, {}).provider_by_name[GPT]

    charged = budget_noted(decision, Admitted(provider, decision, charge))
    unlimited = budget_noted(decision, Admitted(provider, decision, None))
    refused = budget_noted(decision, Denial(429, ErrorKind.RATE_LIMIT, "no", "ratelimit_exceeded"))
    checked = budget_checked(decision, [GPT])

    assert charged.budget == BudgetCheck(CHARGED, 10)
    assert unlimited.budget is None
    assert refused.budget == BudgetCheck(LIMITED)
    assert checked.budget == BudgetCheck(CHECKED, out_of_budget=(GPT,))
