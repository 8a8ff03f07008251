"""Arch-Router on Triton Inference Server's TensorRT-LLM backend, over KServe-v2 gRPC.

One unary ModelInfer per request, to the ensemble of ``triton/model_repository`` (NVIDIA's stock
``inflight_batcher_llm`` ensemble takes the same tensors). The client renders the Qwen chat
template around the Arch-Router prompt, so the server only tokenizes. Decoding is greedy and
stops at the closing brace; anything after the first ``}`` is dropped before parsing.

The gRPC deadline is the routing deadline (``routing.classifier.timeout_ms``), and a request the
routing engine gives up on is cancelled: either way Triton (23.10 and later) sees the call end
and stops generating for a client that has left.

`start()` never fails because of Triton's state. A Triton that is down, still loading its
engine, or serving a model without our tensors is logged as a warning and every classification
fails (so requests go to the requested/default model) until it is fixed: the gateway keeps
routing, and start order against Triton does not matter.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Sequence

import grpc
import numpy as np
from tritonclient.grpc import MAX_GRPC_MESSAGE_SIZE, InferInput, InferRequestedOutput
from tritonclient.grpc.aio import InferenceServerClient
from tritonclient.grpc.service_pb2 import ModelInferResponse, ModelMetadataResponse
from tritonclient.utils import InferenceServerException, deserialize_bytes_tensor

from plano_extproc.classifiers.arch_router.openai_compat import ROUTER_TEMPERATURE
from plano_extproc.classifiers.arch_router.prompt import (
    build_router_prompt,
    parse_router_answer,
    resolve_route_name,
)
from plano_extproc.classifiers.arch_router.qwen_chat import qwen_user_turn
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.config.model import Route, TritonSettings
from plano_extproc.wire.conversation import Message

log = logging.getLogger(__name__)

TEXT_INPUT = "text_input"
TEXT_OUTPUT = "text_output"
# {"route": "<name>"} is 5 tokens plus the name's; the stop words usually end it sooner.
ROUTER_MAX_TOKENS = 24
ROUTER_TOP_K = 1  # greedy: temperature 0.01 alone still samples
# Stop words match token ids, and Qwen's tokenizer usually merges the brace with the quote.
ROUTER_STOP_WORDS = ("}", '"}')
READY_PROBE_SECONDS = 2.0
# gRPC waits longer and longer between reconnects to a server that refused (up to 120 s by
# default), failing every call meanwhile: a Triton that comes back would be ignored for minutes.
RECONNECT_BACKOFF_MS = (250, 1000)
_STRING_TENSOR = "BYTES"


class TritonDeadlineExceeded(ClassifierError, TimeoutError):
    """Triton did not answer within the routing deadline; the engine counts it as a timeout."""


class TritonClassifier:
    """Implements `Classifier` against Arch-Router served by Triton + TensorRT-LLM."""

    def __init__(self, settings: TritonSettings, timeout_ms: int) -> None:
        self._settings = settings
        self._timeout_ms = timeout_ms
        self._sampling = _sampling_inputs()
        self._outputs = [InferRequestedOutput(TEXT_OUTPUT)]
        self._client: InferenceServerClient | None = None

    async def start(self) -> None:
        self._client = InferenceServerClient(self._settings.url, channel_args=_channel_args())
        problem = await self._readiness_problem(self._client)
        if problem is not None:
            log.warning("%s; until fixed, requests go to the requested/default model", problem)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        if self._client is None:
            raise ClassifierError("classifier used before start()")
        prompt = qwen_user_turn(build_router_prompt(routes, messages))
        try:
            result = await self._client.infer(
                self._settings.model,
                [_text_input(prompt), *self._sampling],
                outputs=self._outputs,
                client_timeout=self._timeout_ms / 1000,
            )
        except InferenceServerException as error:
            raise self._request_error(error) from error
        answer = _through_first_brace(_output_text(result.get_response()))
        return resolve_route_name(parse_router_answer(answer), routes)

    async def _readiness_problem(self, client: InferenceServerClient) -> str | None:
        """What keeps the model from answering now, or None when it is ready to."""
        url, model = self._settings.url, self._settings.model
        try:
            async with asyncio.timeout(READY_PROBE_SECONDS):
                if not await client.is_server_ready():
                    return f"Triton at {url} is not ready"
                if not await client.is_model_ready(model):
                    return f"model '{model}' is not ready on Triton at {url}"
                metadata = await client.get_model_metadata(model)
        except TimeoutError:
            return f"Triton at {url} did not answer within {READY_PROBE_SECONDS:g}s"
        except InferenceServerException as error:
            return f"cannot reach Triton at {url}: {error}"
        return self._interface_problem(metadata)

    def _interface_problem(self, metadata: ModelMetadataResponse) -> str | None:
        wanted = [TEXT_INPUT, *(tensor.name() for tensor in self._sampling)]
        present = {tensor.name for tensor in metadata.inputs}
        missing = [name for name in wanted if name not in present]
        if TEXT_OUTPUT not in {tensor.name for tensor in metadata.outputs}:
            missing.append(TEXT_OUTPUT)
        if not missing:
            return None
        return (
            f"model '{self._settings.model}' on Triton at {self._settings.url} has no tensor "
            f"{', '.join(missing)}: point routing.classifier.triton.model at the Arch-Router "
            "ensemble"
        )

    def _request_error(self, error: InferenceServerException) -> ClassifierError:
        status = error.status()
        if status == str(grpc.StatusCode.DEADLINE_EXCEEDED):
            return TritonDeadlineExceeded(f"Triton did not answer within {self._timeout_ms} ms")
        if status == str(grpc.StatusCode.UNAVAILABLE):
            return ClassifierError(
                f"Triton at {self._settings.url} cannot serve model '{self._settings.model}': "
                f"{error.message()}"
            )
        return ClassifierError(f"Triton rejected the request: {error}")


def _channel_args() -> list[tuple[str, int]]:
    """tritonclient's message limits, with reconnects at most RECONNECT_BACKOFF_MS[1] apart."""
    first, most = RECONNECT_BACKOFF_MS
    return [
        ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_SIZE),
        ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_SIZE),
        ("grpc.initial_reconnect_backoff_ms", first),
        ("grpc.min_reconnect_backoff_ms", first),
        ("grpc.max_reconnect_backoff_ms", most),
    ]


def _sampling_inputs() -> list[InferInput]:
    """The tensors every request repeats, built once (the client only reads them)."""
    stop_words = [word.encode() for word in ROUTER_STOP_WORDS]
    return [
        _tensor("max_tokens", "INT32", np.array([[ROUTER_MAX_TOKENS]], dtype=np.int32)),
        _tensor("temperature", "FP32", np.array([[ROUTER_TEMPERATURE]], dtype=np.float32)),
        _tensor("top_k", "INT32", np.array([[ROUTER_TOP_K]], dtype=np.int32)),
        _tensor("stop_words", _STRING_TENSOR, np.array([stop_words], dtype=np.object_)),
        _tensor("stream", "BOOL", np.array([[False]])),
    ]


def _text_input(prompt: str) -> InferInput:
    return _tensor(TEXT_INPUT, _STRING_TENSOR, np.array([[prompt.encode()]], dtype=np.object_))


def _tensor(name: str, datatype: str, value: np.ndarray) -> InferInput:
    return InferInput(name, list(value.shape), datatype).set_data_from_numpy(value)


def _output_text(response: ModelInferResponse) -> str:
    """The single string of the `text_output` tensor."""
    index = next((i for i, out in enumerate(response.outputs) if out.name == TEXT_OUTPUT), None)
    if index is None:
        raise ClassifierError(f"Triton reply has no '{TEXT_OUTPUT}' output")
    output = response.outputs[index]
    if output.datatype != _STRING_TENSOR:
        raise ClassifierError(f"Triton '{TEXT_OUTPUT}' is {output.datatype}, expected BYTES")
    if index >= len(response.raw_output_contents):
        raise ClassifierError(f"Triton '{TEXT_OUTPUT}' carries no data")
    try:
        elements = deserialize_bytes_tensor(response.raw_output_contents[index])
    except struct.error as error:
        raise ClassifierError(f"Triton '{TEXT_OUTPUT}' is not a valid BYTES tensor") from error
    if len(elements) != 1:
        raise ClassifierError(f"Triton '{TEXT_OUTPUT}' holds {len(elements)} strings, expected 1")
    return bytes(elements[0]).decode("utf-8", "replace")


def _through_first_brace(text: str) -> str:
    """Drops whatever the model generated after the answer object closed."""
    head, brace, _ = text.partition("}")
    return head + brace
