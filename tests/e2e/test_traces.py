"""OpenTelemetry traces through real Envoy: Envoy's spans and the ext_proc's `plano.routing` span
reach one local OTLP receiver (built from opentelemetry-proto) in the trace the client saw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import orjson
import pytest

from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.support.gateway import Gateway, running_gateway
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan, running_otlp_receiver
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CLIENT_SPAN}-01"
CODE = {"messages": [{"role": "user", "content": "Write a Python function for binary search"}]}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with running_otlp_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def traced_gateway(
    receiver: OtlpReceiver,
    upstream_server: UpstreamServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    tracing = {"random_sampling": 100, "opentracing_grpc_endpoint": receiver.endpoint}
    workdir: Path = tmp_path_factory.mktemp("traced")
    with running_gateway(workdir, upstream_server, overrides={"tracing": tracing}) as gateway:
        yield gateway


def in_trace(trace_id: str, service: str, name: str | None = None):  # type: ignore[no-untyped-def]
    def match(spans: list[ReceivedSpan]) -> bool:
        return any(
            s.trace_id == trace_id and s.service == service and (name is None or s.name == name)
            for s in spans
        )

    return match


def routing_span(spans: list[ReceivedSpan], trace_id: str) -> ReceivedSpan:
    (span,) = [s for s in spans if s.trace_id == trace_id and s.name == "plano.routing"]
    return span


def test_decision_spans_join_the_clients_trace_under_envoys(
    traced_gateway: Gateway, receiver: OtlpReceiver
) -> None:
    response = httpx.post(
        f"{traced_gateway.base_url}/routing/v1/chat/completions",
        json=CODE,
        headers={"traceparent": TRACEPARENT},
        timeout=20,
    )
    assert response.json()["trace_id"] == TRACE_ID

    spans = receiver.wait_for(in_trace(TRACE_ID, "plano-extproc", "plano.routing"))
    spans = receiver.wait_for(in_trace(TRACE_ID, "plano-envoy"))
    trace = [s for s in spans if s.trace_id == TRACE_ID]
    ingress = next(
        s for s in trace if s.service == "plano-envoy" and s.parent_span_id == CLIENT_SPAN
    )
    routing = routing_span(spans, TRACE_ID)
    ext_proc_call = next(s for s in trace if s.span_id == routing.parent_span_id)
    assert ext_proc_call.service == "plano-envoy"
    assert ext_proc_call.parent_span_id == ingress.span_id
    assert routing.attributes["plano.route"] == "code_generation"
    assert routing.attributes["plano.models"] == tuple(response.json()["models"])
    assert routing.attributes["plano.classifier.name"] == "lexical"
    assert routing.attributes["plano.classifier.latency_ms"] >= 0
    assert routing.attributes["gen_ai.request.model"] == response.json()["models"][0]
    assert routing.attributes["gen_ai.operation.name"] == "chat"
    assert ingress.start_ns <= routing.start_ns <= routing.end_ns <= ingress.end_ns


def test_a_proxied_request_traces_envoy_ext_proc_and_provider_in_one_trace(
    traced_gateway: Gateway, receiver: OtlpReceiver
) -> None:
    trace_id = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
    client = openai.OpenAI(
        base_url=f"{traced_gateway.base_url}/v1",
        api_key="client-key",
        default_headers={"traceparent": f"00-{trace_id}-{CLIENT_SPAN}-01"},
    )
    client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )

    spans = receiver.wait_for(in_trace(trace_id, "plano-extproc"))
    spans = receiver.wait_for(
        lambda received: any(
            s.trace_id == trace_id and s.name.startswith("router ") for s in received
        )
    )
    routing = routing_span(spans, trace_id)
    assert routing.attributes["gen_ai.request.model"] == "openai/gpt-4o-mini"
    assert routing.attributes["gen_ai.provider.name"] == "openai"
    provider_call = next(
        s for s in spans if s.trace_id == trace_id and s.name.startswith("router ")
    )
    assert provider_call.service == "plano-envoy"


def test_without_a_traceparent_the_response_names_envoys_trace(
    traced_gateway: Gateway, receiver: OtlpReceiver
) -> None:
    response = httpx.post(
        f"{traced_gateway.base_url}/routing/v1/chat/completions", json=CODE, timeout=20
    )
    trace_id = response.json()["trace_id"]

    spans = receiver.wait_for(in_trace(trace_id, "plano-envoy"))
    routing = routing_span(receiver.wait_for(in_trace(trace_id, "plano-extproc")), trace_id)
    assert any(s.span_id == routing.parent_span_id for s in spans if s.service == "plano-envoy")


async def test_grpc_decisions_are_traced_in_the_requests_trace(
    traced_gateway: Gateway, receiver: OtlpReceiver
) -> None:
    trace_id = "0123456789abcdef0123456789abcdef"
    request = routing_pb2.DecideRequest(
        api=routing_pb2.CLIENT_API_CHAT,
        body=orjson.dumps(CODE),
        headers={"traceparent": f"00-{trace_id}-{CLIENT_SPAN}-01"},
    )
    target = traced_gateway.base_url.removeprefix("http://")
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await routing_pb2_grpc.RoutingServiceStub(channel).Decide(request, timeout=20)

    assert reply.trace_id == trace_id
    routing = routing_span(receiver.wait_for(in_trace(trace_id, "plano-extproc")), trace_id)
    assert routing.parent_span_id == CLIENT_SPAN
    assert routing.attributes["plano.route"] == reply.route
