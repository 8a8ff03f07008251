"""The `triton` classifier against a real Triton: the `tritonserver` of nvidia-pytriton on
triton/model_repository, with the CPU stand-in engine (tests/support/triton_server.py). The
stand-in answers the route the latest user turn names, so these check the client, the
ensemble's wiring, preprocessing and postprocessing; Arch-Router's own choices are not
exercised here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from plano_extproc.classifiers.arch_router import triton
from plano_extproc.classifiers.arch_router.triton import TritonClassifier, TritonDeadlineExceeded
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.config import load_config_text
from plano_extproc.config.model import Route, TritonSettings
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.routing.decision import Decision, Fallback
from plano_extproc.routing.router import Router
from plano_extproc.wire.conversation import Message, ParsedRequest
from plano_extproc.wire.ir import Role, Text, Transcript, Turn
from tests.classifiers.arch_router.test_triton import gateway_config
from tests.support.triton_server import ENGINE, ENSEMBLE, TritonServer, running_triton

pytestmark = pytest.mark.e2e

ROUTES = (
    Route("code_generation", "generating new code", ("m",)),
    Route("complex_reasoning", "multi-step analysis", ("m",)),
)
ASKS_FOR_CODE = "code_generation please: write a Python function"
DEADLINE_MS = 400
SLOW = f"code_generation standin-delay-ms={DEADLINE_MS * 4}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    with running_triton(tmp_path_factory.mktemp("triton")) as real:
        yield real


@pytest.fixture
async def classifier(server: TritonServer) -> AsyncIterator[TritonClassifier]:
    router = TritonClassifier(TritonSettings(url=server.grpc_url), timeout_ms=DEADLINE_MS * 10)
    await router.start()
    yield router
    await router.close()


def user(text: str) -> list[Message]:
    return [Message(Role.SYSTEM, "be nice"), Message(Role.USER, text)]


async def decide(url: str, timeout_ms: int, text: str) -> Decision:
    config = load_config_text(gateway_config(url, timeout_ms), {}, require_keys=False)
    router = await Router.start(config)
    transcript = Transcript((Turn(Role.USER, (Text(text),)),))
    request = ParsedRequest(ClientApi.CHAT, "gpt-4o-mini", transcript, False, None, {})
    try:
        return await router.engine.decide(request, {})
    finally:
        await router.close()


def test_the_repository_loads_with_the_stand_in_engine(server: TritonServer) -> None:
    for model in (ENSEMBLE, "preprocessing", ENGINE, "postprocessing"):
        assert server.model_ready(model), model
    engine = httpx.get(f"{server.http_url}/v2/models/{ENGINE}/config", timeout=5).json()
    assert engine["backend"] == "python"


async def test_routes_through_the_real_ensemble(classifier: TritonClassifier) -> None:
    assert await classifier.classify(ROUTES, user(ASKS_FOR_CODE)) == "code_generation"
    assert await classifier.classify(ROUTES, user("what's the weather")) is None


async def test_the_routing_engine_routes_with_triton(server: TritonServer) -> None:
    decision = await decide(server.grpc_url, 2000, ASKS_FOR_CODE)
    assert decision.route == "code_generation"
    assert decision.models == ("anthropic/claude-sonnet-4-20250514",)


async def test_a_slow_engine_misses_the_deadline_and_the_decision_falls_back(
    server: TritonServer, classifier: TritonClassifier
) -> None:
    slow = TritonClassifier(TritonSettings(url=server.grpc_url), timeout_ms=DEADLINE_MS)
    await slow.start()
    with pytest.raises(TritonDeadlineExceeded):  # the gRPC deadline ended the call
        await slow.classify(ROUTES, user(SLOW))
    await slow.close()
    decision = await decide(server.grpc_url, DEADLINE_MS, SLOW)

    assert (decision.models, decision.fallback) == (("none",), Fallback.TIMEOUT)
    # The engine is free again once the slow ones are done.
    assert await classifier.classify(ROUTES, user(ASKS_FOR_CODE)) == "code_generation"


async def test_concurrent_decisions_are_batched_by_triton(
    server: TritonServer, classifier: TritonClassifier
) -> None:
    before = server.metrics()

    answers = await asyncio.gather(
        *(classifier.classify(ROUTES, user(f"{ASKS_FOR_CODE} #{i}")) for i in range(32))
    )

    after = server.metrics()
    requests = after[("nv_inference_count", ENGINE)] - before[("nv_inference_count", ENGINE)]
    executions = (
        after[("nv_inference_exec_count", ENGINE)] - before[("nv_inference_exec_count", ENGINE)]
    )
    assert set(answers) == {"code_generation"}
    assert requests == 32
    assert executions < requests  # some executions took several requests at once


async def test_an_unloaded_engine_fails_each_request_then_recovers(
    server: TritonServer, classifier: TritonClassifier
) -> None:
    server.unload(ENGINE)
    try:
        with pytest.raises(ClassifierError) as failed:
            await classifier.classify(ROUTES, user(ASKS_FOR_CODE))
        # Refused by Triton, not left to run into the deadline.
        assert not isinstance(failed.value, TritonDeadlineExceeded)
    finally:
        server.load(ENGINE)
    assert await classifier.classify(ROUTES, user(ASKS_FOR_CODE)) == "code_generation"


async def test_a_model_that_is_not_loaded_is_named_at_start(
    server: TritonServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.unload(ENSEMBLE)
    try:
        router = TritonClassifier(TritonSettings(url=server.grpc_url), timeout_ms=500)
        with caplog.at_level(logging.WARNING, logger=triton.__name__):
            await router.start()
        with pytest.raises(ClassifierError):
            await router.classify(ROUTES, user(ASKS_FOR_CODE))
        await router.close()
    finally:
        server.load(ENSEMBLE)
    assert f"model 'arch_router' is not ready on Triton at {server.grpc_url}" in caplog.text


async def test_a_model_without_our_tensors_is_named_at_start(
    server: TritonServer, caplog: pytest.LogCaptureFixture
) -> None:
    router = TritonClassifier(TritonSettings(server.grpc_url, ENGINE), 500)
    with caplog.at_level(logging.WARNING, logger=triton.__name__):
        await router.start()
    await router.close()
    assert f"model '{ENGINE}' on Triton" in caplog.text
    assert "has no tensor text_input, max_tokens, top_k, stop_words, stream, text_output" in (
        caplog.text
    )


async def test_a_ready_model_starts_without_warnings(
    server: TritonServer, caplog: pytest.LogCaptureFixture
) -> None:
    router = TritonClassifier(TritonSettings(url=server.grpc_url), timeout_ms=500)
    with caplog.at_level(logging.WARNING, logger=triton.__name__):
        await router.start()
    await router.close()
    assert caplog.records == []


def test_the_log_names_no_failed_model(server: TritonServer) -> None:
    assert "failed to load" not in server.log_tail(200_000)
