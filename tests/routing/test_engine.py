from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from plano_extproc.affinity.base import Pin
from plano_extproc.affinity.keys import affinity_key
from plano_extproc.affinity.memory import MemoryAffinityStore
from plano_extproc.classifiers.lexical import LexicalClassifier
from plano_extproc.config.model import (
    AuthSettings,
    ClassifierSettings,
    Config,
    Route,
    RoutingSettings,
    SessionCacheSettings,
)
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.metrics_sources.base import StaticMetrics
from plano_extproc.routing.decision import CHARGED, BudgetCheck, Decision, Fallback
from plano_extproc.routing.engine import RoutingEngine
from plano_extproc.telemetry.metrics import CLASSIFIER_FAILURES
from plano_extproc.telemetry.trace import TraceParent
from plano_extproc.wire.conversation import Message, ParsedRequest
from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.ir import Role, Text, Transcript, Turn

from .conftest import CLAUDE, GPT4O, MINI


def request(text: str, inline: tuple[Route, ...] | None = None) -> ParsedRequest:
    transcript = Transcript((Turn(Role.USER, (Text(text),)),))
    return ParsedRequest(ClientApi.CHAT, "gpt-4o-mini", transcript, False, inline, {})


class ScriptedClassifier:
    """Answers a fixed route name (or raises / sleeps) and counts calls."""

    def __init__(self, answer: str | None = None, *, delay: float = 0.0, error: bool = False):
        self.answer, self.delay, self.error, self.calls = answer, delay, error, 0

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.error:
            raise RuntimeError("backend down")
        return self.answer


def engine(config: Config, classifier=None, **metrics) -> RoutingEngine:
    store = MemoryAffinityStore(ttl_seconds=600, max_entries=100)
    return RoutingEngine(config, classifier or LexicalClassifier(), store, StaticMetrics(**metrics))


async def test_code_request_routes_to_code_models_in_config_order(demo_config: Config) -> None:
    decision = await engine(demo_config).decide(request("Write a Python function"), {})
    assert decision.route == "code_generation"
    assert decision.models == (CLAUDE, GPT4O)
    assert not decision.pinned


async def test_cheapest_policy_ranks_by_cost(demo_config: Config) -> None:
    routed = engine(demo_config, costs={GPT4O: 25.0, MINI: 0.75})
    decision = await routed.decide(request("Explain the trade-offs between REST and gRPC"), {})
    assert decision.route == "complex_reasoning"
    assert decision.models == (MINI, GPT4O)


async def test_unmatched_request_yields_none(demo_config: Config) -> None:
    decision = await engine(demo_config).decide(request("What is the capital of France?"), {})
    assert decision.models == ("none",)
    assert decision.route is None
    assert decision.fallback is None


async def test_no_routes_skips_the_classifier(demo_config: Config) -> None:
    classifier = ScriptedClassifier("code_generation")
    no_routes = replace(demo_config, routes=())
    decision = await engine(no_routes, classifier).decide(request("Write code"), {})
    assert decision.route is None
    assert classifier.calls == 0


async def test_unknown_route_name_from_classifier_is_no_route(demo_config: Config) -> None:
    decision = await engine(demo_config, ScriptedClassifier("poetry")).decide(request("hi"), {})
    assert decision.route is None


async def test_affinity_pins_first_routed_model(demo_config: Config) -> None:
    classifier = ScriptedClassifier("code_generation")
    routed = engine(demo_config, classifier)
    headers = {"x-model-affinity": "s-1"}
    first = await routed.decide(request("Write a Python function"), headers)
    classifier.answer = "complex_reasoning"
    second = await routed.decide(request("Now explain merge sort"), headers)
    assert (first.pinned, first.session_id) == (False, "s-1")
    assert second == Decision((CLAUDE,), "code_generation", second.trace_id, "s-1", pinned=True)
    assert classifier.calls == 1


async def test_a_pin_to_a_model_no_longer_declared_is_routed_again_and_re_pinned(
    demo_config: Config,
) -> None:
    store = MemoryAffinityStore(ttl_seconds=600, max_entries=100)
    classifier = ScriptedClassifier("code_generation")
    routed = RoutingEngine(demo_config, classifier, store, StaticMetrics())
    headers = {"x-model-affinity": "s-stale"}
    key = affinity_key("s-stale", None)
    await store.put(key, Pin("openai/retired-model", "code_generation"))
    before = REGISTRY.get_sample_value("plano_affinity_stale_pins_total") or 0.0

    decision = await routed.decide(request("Write another one"), headers)

    assert decision.pinned is False
    assert decision.models[0] == CLAUDE
    assert (await store.get(key)) == Pin(CLAUDE, "code_generation")
    assert REGISTRY.get_sample_value("plano_affinity_stale_pins_total") == before + 1


async def test_session_id_header_is_a_synonym(demo_config: Config) -> None:
    routed = engine(demo_config)
    await routed.decide(request("Write a Python function"), {"x-session-id": "s-2"})
    pinned = await routed.decide(request("What is up?"), {"x-session-id": "s-2"})
    assert pinned.pinned
    assert pinned.models == (CLAUDE,)


async def test_no_route_result_is_never_pinned(demo_config: Config) -> None:
    routed = engine(demo_config)
    headers = {"x-model-affinity": "s-3"}
    await routed.decide(request("What is the capital of France?"), headers)
    later = await routed.decide(request("Write a Python function"), headers)
    assert (later.pinned, later.route) == (False, "code_generation")


async def test_tenant_header_separates_sessions(demo_config: Config) -> None:
    cache = SessionCacheSettings(tenant_header="x-tenant-id")
    tenanted = replace(demo_config, routing=RoutingSettings(session_cache=cache))
    routed = engine(tenanted)
    await routed.decide(request("Write code"), {"x-model-affinity": "s", "x-tenant-id": "a"})
    other = await routed.decide(
        request("Explain the trade-offs between two designs"),
        {"x-model-affinity": "s", "x-tenant-id": "b"},
    )
    assert (other.pinned, other.route) == (False, "complex_reasoning")


async def test_classifier_timeout_falls_back_and_is_counted(demo_config: Config) -> None:
    fast_deadline = replace(
        demo_config, routing=RoutingSettings(classifier=ClassifierSettings(timeout_ms=20))
    )
    before = CLASSIFIER_FAILURES.labels("timeout")._value.get()
    slow = ScriptedClassifier("code_generation", delay=5)
    decision = await engine(fast_deadline, slow).decide(request("Write code"), {})
    assert (decision.models, decision.fallback) == (("none",), Fallback.TIMEOUT)
    assert CLASSIFIER_FAILURES.labels("timeout")._value.get() == before + 1


async def test_classifier_error_falls_back(demo_config: Config) -> None:
    decision = await engine(demo_config, ScriptedClassifier(error=True)).decide(
        request("Write code"), {"x-model-affinity": "s-4"}
    )
    assert (decision.route, decision.fallback, decision.pinned) == (None, Fallback.ERROR, False)


async def test_inline_routes_replace_config_routes(demo_config: Config) -> None:
    inline = (Route("coding", "code generation and debugging", (MINI,)),)
    decision = await engine(demo_config).decide(request("Write quicksort code", inline), {})
    assert (decision.route, decision.models) == ("coding", (MINI,))


async def test_inline_route_with_undeclared_model_is_rejected(demo_config: Config) -> None:
    inline = (Route("coding", "code generation", ("openai/gpt-5",)),)
    with pytest.raises(InvalidRequest) as caught:
        await engine(demo_config).decide(request("Write code", inline), {})
    assert caught.value.status == 400
    assert "'openai/gpt-5'" in caught.value.message
    assert caught.value.reason == "undeclared_model"


async def test_trace_id_comes_from_traceparent(demo_config: Config) -> None:
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    decision = await engine(demo_config).decide(request("Write code"), headers)
    assert decision.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_decision_json_has_documented_key_order() -> None:
    plain = Decision(("none",), None, "t" * 32)
    pinned = Decision((CLAUDE,), "code_generation", "t" * 32, "abc", pinned=True)
    assert list(plain.to_json()) == ["models", "route", "trace_id"]
    assert pinned.to_json() == {
        "models": [CLAUDE],
        "route": "code_generation",
        "trace_id": "t" * 32,
        "session_id": "abc",
        "pinned": True,
    }


class RecordingRecorder:
    def __init__(self) -> None:
        self.records: list[tuple] = []

    def record(self, request, decision, parent, timing) -> None:  # type: ignore[no-untyped-def]
        self.records.append((request, decision, parent, timing))

    def close(self) -> None: ...


def traced_engine(config: Config, classifier=None) -> tuple[RoutingEngine, RecordingRecorder]:
    recorder = RecordingRecorder()
    store = MemoryAffinityStore(ttl_seconds=600, max_entries=100)
    built = RoutingEngine(
        config, classifier or LexicalClassifier(), store, StaticMetrics(), recorder=recorder
    )
    return built, recorder


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_recorder_gets_each_decision_with_its_timing_and_parent(
    demo_config: Config,
) -> None:
    traced, recorder = traced_engine(demo_config, ScriptedClassifier("code_generation", delay=0.02))
    asked = request("Write a Python function")
    decision = await traced.decide(asked, {"traceparent": TRACEPARENT})

    ((seen_request, seen_decision, parent, timing),) = recorder.records
    assert (seen_request, seen_decision) == (asked, decision)
    assert parent is not None
    assert (parent.trace_id, parent.span_id) == (decision.trace_id, "00f067aa0ba902b7")
    assert timing.classify_seconds is not None
    assert timing.classify_seconds >= 0.02
    assert timing.end_ns - timing.start_ns >= timing.classify_seconds * 1e9


async def test_a_callers_parent_wins_over_the_request_header(demo_config: Config) -> None:
    traced, recorder = traced_engine(demo_config)
    envoys = TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "1111111111111111", sampled=True)
    decision = await traced.decide(request("hi"), {"traceparent": TRACEPARENT}, envoys)

    assert recorder.records[0][2] == envoys
    assert decision.trace_id == envoys.trace_id


async def test_pins_and_no_routes_are_recorded_without_classifier_time(
    demo_config: Config,
) -> None:
    traced, recorder = traced_engine(demo_config)
    headers = {"x-model-affinity": "s-1"}
    await traced.decide(request("Write a Python function"), headers)
    pinned = await traced.decide(request("Write a Python function"), headers)

    assert pinned.pinned
    assert recorder.records[1][3].classify_seconds is None
    assert recorder.records[0][3].classify_seconds is not None


async def test_the_identity_header_is_recorded_only_when_auth_vouches_for_it(
    demo_config: Config,
) -> None:
    with_auth = replace(demo_config, auth=AuthSettings(api_keys=()))
    headers = {"x-plano-identity": "team-a"}
    trusted, trusted_records = traced_engine(with_auth)
    untrusted, untrusted_records = traced_engine(demo_config)

    await trusted.decide(request("hi"), headers)
    await untrusted.decide(request("hi"), headers)

    assert trusted_records.records[0][1].identity == "team-a"
    assert untrusted_records.records[0][1].identity is None


async def test_an_unrecorded_decision_is_recorded_once_as_its_caller_completes_it(
    demo_config: Config,
) -> None:
    traced, recorder = traced_engine(demo_config)
    decision, recording = await traced.decide_unrecorded(request("hi"), {})
    completed = dataclasses.replace(decision, budget=BudgetCheck(CHARGED, 12))

    assert recorder.records == []
    recording.record(completed)
    recording.record(decision)

    ((_, seen, _, _),) = recorder.records
    assert seen == completed
