from __future__ import annotations

import asyncio
import logging
import struct
import sys
import textwrap
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from tritonclient.grpc import InferInput
from tritonclient.grpc.aio import InferenceServerClient
from tritonclient.utils import InferenceServerException

from plano_extproc.classifiers.arch_router import triton
from plano_extproc.classifiers.arch_router.prompt import build_router_prompt
from plano_extproc.classifiers.arch_router.triton import TritonClassifier, TritonDeadlineExceeded
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.classifiers.factory import UnavailableClassifier, build_classifier
from plano_extproc.config import load_config_text
from plano_extproc.config.model import ClassifierSettings, ClassifierType, Route, TritonSettings
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.routing.decision import Decision, Fallback
from plano_extproc.routing.router import Router
from plano_extproc.telemetry.metrics import CLASSIFIER_FAILURES
from plano_extproc.wire.conversation import Message, ParsedRequest
from plano_extproc.wire.ir import Role, Text, Transcript, Turn
from tests.support.kserve_server import (
    ErrorReply,
    KServeServer,
    OutputTensor,
    Reply,
    TensorReply,
    TextReply,
    running_kserve_server,
)
from tests.support.ports import free_ports

ROUTES = (
    Route("code_generation", "generating new code", ("m",)),
    Route("complex_reasoning", "multi-step analysis", ("m",)),
)
MESSAGES = [Message(Role.SYSTEM, "be nice"), Message(Role.USER, "Write a Python function")]
# Written out rather than imported: this is what Qwen2.5's chat template renders.
QWEN_HEAD = (
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    "<|im_end|>\n<|im_start|>user\n"
)
QWEN_TAIL = "<|im_end|>\n<|im_start|>assistant\n"
ROUTED = '{"route": "code_generation"}'
SLOW_SECONDS = 5.0
CANCEL_SEEN_SECONDS = 2.0


def templated(routes: tuple[Route, ...], messages: list[Message]) -> str:
    return QWEN_HEAD + build_router_prompt(routes, messages) + QWEN_TAIL


def bytes_tensor(*strings: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(s)) + s for s in strings)


def text_output(datatype: str = "BYTES", shape: tuple[int, ...] = (1, 1)) -> OutputTensor:
    return OutputTensor(name="text_output", datatype=datatype, shape=list(shape))


@pytest.fixture
async def server() -> AsyncIterator[KServeServer]:
    async with running_kserve_server() as kserve:
        yield kserve


@pytest.fixture
async def classifier(server: KServeServer) -> AsyncIterator[TritonClassifier]:
    # The default model name is the ensemble's name in triton/model_repository.
    router = TritonClassifier(TritonSettings(url=server.url), timeout_ms=5000)
    await router.start()
    yield router
    await router.close()


async def test_sends_the_templated_arch_router_prompt_and_reads_the_route(
    server: KServeServer, classifier: TritonClassifier
) -> None:
    server.expect_text(templated(ROUTES, MESSAGES))
    server.script(TextReply(ROUTED))
    assert await classifier.classify(ROUTES, MESSAGES) == "code_generation"
    prompt = server.calls[-1].inputs["text_input"].value.item().decode()
    assert prompt.startswith(QWEN_HEAD + "\nYou are a helpful assistant designed")
    assert '[{"role":"user","content":"Write a Python function"}]' in prompt


async def test_request_tensors_are_greedy_short_and_stop_at_the_brace(
    server: KServeServer, classifier: TritonClassifier
) -> None:
    server.script(TextReply(ROUTED))
    await classifier.classify(ROUTES, MESSAGES)
    [call] = server.calls
    assert call.model == "arch_router"
    assert call.requested_outputs == ("text_output",)
    sent = {name: (t.datatype, t.shape, t.value.tolist()) for name, t in call.inputs.items()}
    assert sent.pop("text_input")[:2] == ("BYTES", (1, 1))
    assert sent == {
        "max_tokens": ("INT32", (1, 1), [[24]]),
        "temperature": ("FP32", (1, 1), [[np.float32(0.01)]]),
        "top_k": ("INT32", (1, 1), [[1]]),
        "stop_words": ("BYTES", (1, 2), [[b"}", b'"}']]),
        "stream": ("BOOL", (1, 1), [[False]]),
    }


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ('{"route": "other"}', None),
        ('{"route": "poetry"}', None),
        ("", None),
        ('{"route": "complex_reasoning"}\n{"route": "code_generation"}', "complex_reasoning"),
        ("{'route': 'code_generation'} and more", "code_generation"),
    ],
)
async def test_answers_are_read_up_to_the_first_closing_brace(
    server: KServeServer, classifier: TritonClassifier, text: str, route: str | None
) -> None:
    server.script(TextReply(text))
    assert await classifier.classify(ROUTES, MESSAGES) == route


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (TensorReply((), ()), "no 'text_output' output"),
        (TensorReply((text_output("INT32"),), (b"\0\0\0\0",)), "is INT32, expected BYTES"),
        (TensorReply((text_output(),), ()), "carries no data"),
        (TensorReply((text_output(),), (b"\xff\0\0\0{",)), "not a valid BYTES tensor"),
        (
            TensorReply((text_output(shape=(1, 2)),), (bytes_tensor(b"{}", b"{}"),)),
            "holds 2 strings",
        ),
        (TextReply('{"route": code_gen'), "not valid JSON"),
        (ErrorReply(grpc.StatusCode.INTERNAL, "engine failed"), "rejected.*engine failed"),
        (ErrorReply(grpc.StatusCode.UNAVAILABLE, "overloaded"), "cannot serve.*overloaded"),
    ],
)
async def test_bad_replies_raise_classifier_errors(
    server: KServeServer, classifier: TritonClassifier, reply: Reply, message: str
) -> None:
    server.script(reply)
    with pytest.raises(ClassifierError, match=message):
        await classifier.classify(ROUTES, MESSAGES)


async def test_the_deadline_is_the_grpc_deadline_and_the_call_is_cancelled(
    server: KServeServer,
) -> None:
    router = TritonClassifier(TritonSettings(url=server.url), timeout_ms=100)
    await router.start()
    server.script(TextReply(ROUTED, delay_s=SLOW_SECONDS))
    with pytest.raises(TritonDeadlineExceeded, match="within 100 ms") as raised:
        await router.classify(ROUTES, MESSAGES)
    assert isinstance(raised.value, TimeoutError)
    assert await server.cancelled_call(CANCEL_SEEN_SECONDS) is server.calls[-1]
    await router.close()


def gateway_config(url: str, timeout_ms: int) -> str:
    return textwrap.dedent(
        f"""\
        version: v0.4.0
        model_providers:
          - {{model: openai/gpt-4o-mini, default: true}}
          - {{model: anthropic/claude-sonnet-4-20250514}}
        routing_preferences:
          - name: code_generation
            description: generating new code
            models: [anthropic/claude-sonnet-4-20250514]
        routing:
          classifier:
            type: triton
            timeout_ms: {timeout_ms}
            triton: {{url: "{url}", model: arch_router}}
        """
    )


async def decide_through_router(url: str, timeout_ms: int) -> tuple[Router, Decision]:
    config = load_config_text(gateway_config(url, timeout_ms), {}, require_keys=False)
    router = await Router.start(config)
    transcript = Transcript(tuple(Turn(m.role, (Text(m.text),)) for m in MESSAGES))
    request = ParsedRequest(ClientApi.CHAT, "gpt-4o-mini", transcript, False, None, {})
    return router, await router.engine.decide(request, {})


async def test_past_the_deadline_the_engine_falls_back_and_triton_sees_the_cancel(
    server: KServeServer,
) -> None:
    before = CLASSIFIER_FAILURES.labels("timeout")._value.get()
    server.script(TextReply(ROUTED, delay_s=SLOW_SECONDS))
    router, decision = await decide_through_router(server.url, 50)
    await router.close()
    assert (decision.models, decision.fallback) == (("none",), Fallback.TIMEOUT)
    assert CLASSIFIER_FAILURES.labels("timeout")._value.get() == before + 1
    assert await server.cancelled_call(CANCEL_SEEN_SECONDS) is server.calls[-1]


async def test_server_down_starts_with_a_warning_then_classify_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (port,) = free_ports(1)
    router = TritonClassifier(TritonSettings(url=f"127.0.0.1:{port}"), timeout_ms=500)
    with caplog.at_level(logging.WARNING, logger=triton.__name__):
        await router.start()
    assert f"cannot reach Triton at 127.0.0.1:{port}" in caplog.text
    with pytest.raises(ClassifierError, match=f"Triton at 127.0.0.1:{port} cannot serve"):
        await router.classify(ROUTES, MESSAGES)
    await router.close()


# A model that is not loaded, on a real Triton: test_triton_real.py. A server still starting is
# caught here, where its readiness can be held.
async def test_a_server_not_ready_starts_with_a_warning_then_classify_fails(
    server: KServeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_ready(server=False, model=False)
    router = TritonClassifier(TritonSettings(url=server.url), timeout_ms=500)
    with caplog.at_level(logging.WARNING, logger=triton.__name__):
        await router.start()
    assert f"Triton at {server.url} is not ready" in caplog.text
    with pytest.raises(ClassifierError, match="unknown model: 'arch_router'"):
        await router.classify(ROUTES, MESSAGES)
    await router.close()


async def test_the_readiness_probe_is_bounded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    monkeypatch.setattr(triton, "READY_PROBE_SECONDS", 0.2)
    router = TritonClassifier(TritonSettings(url=f"127.0.0.1:{port}"), timeout_ms=500)
    with caplog.at_level(logging.WARNING, logger=triton.__name__):
        async with asyncio.timeout(5):
            await router.start()
    await router.close()
    silent.close()
    assert f"Triton at 127.0.0.1:{port} did not answer within 0.2s" in caplog.text


async def test_use_before_start_is_an_error() -> None:
    router = TritonClassifier(TritonSettings(), timeout_ms=500)
    with pytest.raises(ClassifierError, match="before start"):
        await router.classify(ROUTES, MESSAGES)


def test_factory_builds_it() -> None:
    settings = ClassifierSettings(type=ClassifierType.TRITON, triton=TritonSettings())
    assert isinstance(build_classifier(settings), TritonClassifier)


def test_factory_without_tritonclient_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "plano_extproc.classifiers.arch_router.triton")
    monkeypatch.setitem(sys.modules, "tritonclient.grpc.aio", None)
    settings = ClassifierSettings(type=ClassifierType.TRITON, triton=TritonSettings())
    with pytest.raises(UnavailableClassifier, match=r"pip install 'plano-extproc\[triton\]'"):
        build_classifier(settings)


def int_tensor(name: str, value: list[list[int]], datatype: str = "INT32") -> InferInput:
    array = np.array(value, dtype=np.int64 if datatype == "INT64" else np.int32)
    return InferInput(name, list(array.shape), datatype).set_data_from_numpy(array)


def prompt_tensor(rows: int = 1) -> InferInput:
    array = np.array([[b"hi"]] * rows, dtype=np.object_)
    return InferInput("text_input", list(array.shape), "BYTES").set_data_from_numpy(array)


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ([prompt_tensor(), int_tensor("max_tokens", [[8]], "INT64")], "datatype INT64"),
        ([prompt_tensor(), int_tensor("max_tokens", [[8, 8]])], "has shape \\[1, 2\\]"),
        ([prompt_tensor(65), int_tensor("max_tokens", [[8]] * 65)], "batch<=64"),
        ([prompt_tensor(), int_tensor("max_token", [[8]])], "unexpected inference input"),
        ([int_tensor("max_tokens", [[8]])], "requires input\\(s\\) text_input"),
    ],
)
async def test_the_test_server_rejects_what_triton_would(
    server: KServeServer, inputs: list[InferInput], problem: str
) -> None:
    async with InferenceServerClient(server.url) as client:
        with pytest.raises(InferenceServerException, match=problem):
            await client.infer(server.model, inputs)
