"""A KServe-v2 gRPC inference server standing in for Triton in the Triton classifier's tests.

It serves one model described by a Triton ModelConfig (by default the ``arch_router`` ensemble
of triton/model_repository) with the RPCs the client uses: ServerLive, ServerReady, ModelReady,
ModelMetadata and ModelInfer. Runs with grpc.aio in the test's event loop on 127.0.0.1::

    async with running_kserve_server() as server:
        server.script(TextReply('{"route": "code_generation"}'))
        ...  # classify against server.url
        assert server.calls[-1].inputs["max_tokens"].value.tolist() == [[24]]

ModelInfer checks every request as Triton would against the model's config (known input names,
required inputs present, datatypes, shapes with the batch dimension) and, when `expected_text`
is set, that ``text_input`` is exactly that string; a failed check is answered
INVALID_ARGUMENT naming the problem. Requests are recorded decoded, whatever the answer.

Replies are scripted, each used once: `TextReply` (a ``text_output`` string, optionally after a
delay), `TensorReply` (any output tensors, for malformed replies) and `ErrorReply` (a gRPC
status). With nothing scripted, ModelInfer fails with INTERNAL.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
from tritonclient.grpc import model_config_pb2, service_pb2, service_pb2_grpc
from tritonclient.utils import (
    deserialize_bytes_tensor,
    serialize_byte_tensor,
    triton_to_np_dtype,
)

from tests.support.triton_repository import ENSEMBLE, kserve_datatype, load_model_config

OutputTensor = service_pb2.ModelInferResponse.InferOutputTensor
TEXT_OUTPUT = "text_output"
_STOP_GRACE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class TextReply:
    """``text_output`` BYTES [1, 1] holding `text`, sent after `delay_s`."""

    text: str
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class TensorReply:
    """Output tensors as given, `raw[i]` the contents of `outputs[i]`."""

    outputs: tuple[OutputTensor, ...]
    raw: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ErrorReply:
    code: grpc.StatusCode
    message: str


Reply = TextReply | TensorReply | ErrorReply


@dataclass(frozen=True, slots=True)
class ReceivedInput:
    datatype: str
    shape: tuple[int, ...]
    value: np.ndarray  # BYTES as an object array of bytes


@dataclass(slots=True)
class InferCall:
    model: str
    inputs: dict[str, ReceivedInput]
    requested_outputs: tuple[str, ...]
    cancelled: bool = False  # the client went away (deadline, cancel) before the reply


@dataclass(slots=True)
class _ServerState:
    config: model_config_pb2.ModelConfig
    server_ready: bool = True
    model_ready: bool = True
    expected_text: str | None = None
    replies: deque[Reply] = field(default_factory=deque)
    calls: list[InferCall] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class KServeServer:
    """Handle on a running server: its `url`, what it received, and knobs for the next calls."""

    def __init__(self, state: _ServerState, port: int) -> None:
        self._state = state
        self.url = f"127.0.0.1:{port}"

    @property
    def model(self) -> str:
        return self._state.config.name

    @property
    def calls(self) -> list[InferCall]:
        return self._state.calls

    async def cancelled_call(self, timeout_s: float) -> InferCall:
        """The first call the client abandoned (deadline, cancel), once there is one."""
        async with asyncio.timeout(timeout_s):
            await self._state.cancelled.wait()
        return next(call for call in self.calls if call.cancelled)

    def script(self, *replies: Reply) -> None:
        self._state.replies.extend(replies)

    def expect_text(self, text: str | None) -> None:
        self._state.expected_text = text

    def set_ready(self, *, server: bool = True, model: bool = True) -> None:
        self._state.server_ready = server
        self._state.model_ready = model


@asynccontextmanager
async def running_kserve_server(
    config: model_config_pb2.ModelConfig | None = None,
) -> AsyncIterator[KServeServer]:
    state = _ServerState(config or load_model_config(ENSEMBLE))
    server = grpc.aio.server()
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(_Servicer(state), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield KServeServer(state, port)
    finally:
        await server.stop(grace=_STOP_GRACE_SECONDS)


class _Servicer(service_pb2_grpc.GRPCInferenceServiceServicer):
    def __init__(self, state: _ServerState) -> None:
        self._state = state

    async def ServerLive(self, request: Any, context: Any) -> service_pb2.ServerLiveResponse:
        return service_pb2.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Any) -> service_pb2.ServerReadyResponse:
        return service_pb2.ServerReadyResponse(ready=self._state.server_ready)

    async def ModelReady(
        self, request: service_pb2.ModelReadyRequest, context: Any
    ) -> service_pb2.ModelReadyResponse:
        return service_pb2.ModelReadyResponse(ready=self._serves(request.name))

    async def ModelMetadata(
        self, request: service_pb2.ModelMetadataRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ModelMetadataResponse:
        if not self._serves(request.name):
            await context.abort(grpc.StatusCode.UNAVAILABLE, _unknown_model(request.name))
        config = self._state.config
        return service_pb2.ModelMetadataResponse(
            name=config.name,
            versions=["1"],
            platform=config.platform or config.backend,
            inputs=[_tensor_metadata(tensor, config.max_batch_size) for tensor in config.input],
            outputs=[_tensor_metadata(tensor, config.max_batch_size) for tensor in config.output],
        )

    async def ModelInfer(
        self, request: service_pb2.ModelInferRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.ModelInferResponse:
        call = InferCall(
            request.model_name,
            _received_inputs(request),
            tuple(output.name for output in request.outputs),
        )
        self._state.calls.append(call)
        if not self._serves(request.model_name):
            await context.abort(grpc.StatusCode.UNAVAILABLE, _unknown_model(request.model_name))
        problem = _request_problem(self._state.config, call.inputs) or self._text_problem(call)
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        if not self._state.replies:
            await context.abort(grpc.StatusCode.INTERNAL, "test server: no reply scripted")
        reply = self._state.replies.popleft()
        if isinstance(reply, ErrorReply):
            await context.abort(reply.code, reply.message)
        if isinstance(reply, TextReply):
            try:
                await asyncio.sleep(reply.delay_s)
            except asyncio.CancelledError:
                call.cancelled = True
                self._state.cancelled.set()
                raise
            reply = _text_reply(reply.text)
        return service_pb2.ModelInferResponse(
            model_name=request.model_name,
            model_version="1",
            id=request.id,
            outputs=reply.outputs,
            raw_output_contents=reply.raw,
        )

    def _serves(self, model: str) -> bool:
        state = self._state
        return state.server_ready and state.model_ready and model == state.config.name

    def _text_problem(self, call: InferCall) -> str | None:
        expected = self._state.expected_text
        if expected is None:
            return None
        [[sent]] = call.inputs["text_input"].value.tolist()
        text = sent.decode()
        if text == expected:
            return None
        at = next((i for i, (a, b) in enumerate(zip(text, expected, strict=False)) if a != b), None)
        at = min(len(text), len(expected)) if at is None else at
        return (
            f"text_input differs from the expected prompt at character {at}: "
            f"got {text[at : at + 40]!r}, expected {expected[at : at + 40]!r}"
        )


def _unknown_model(name: str) -> str:
    # Triton's wording for a model that is not loaded (or not ready) under that name.
    return f"Request for unknown model: '{name}' is not found"


def _tensor_metadata(
    tensor: model_config_pb2.ModelInput | model_config_pb2.ModelOutput, max_batch_size: int
) -> service_pb2.ModelMetadataResponse.TensorMetadata:
    batch = [-1] if max_batch_size > 0 else []
    return service_pb2.ModelMetadataResponse.TensorMetadata(
        name=tensor.name, datatype=kserve_datatype(tensor.data_type), shape=[*batch, *tensor.dims]
    )


def _received_inputs(request: service_pb2.ModelInferRequest) -> dict[str, ReceivedInput]:
    received = {}
    for index, tensor in enumerate(request.inputs):
        raw = request.raw_input_contents[index] if index < len(request.raw_input_contents) else b""
        shape = tuple(tensor.shape)
        received[tensor.name] = ReceivedInput(tensor.datatype, shape, _decode(tensor, raw, shape))
    return received


def _decode(
    tensor: service_pb2.ModelInferRequest.InferInputTensor, raw: bytes, shape: tuple[int, ...]
) -> np.ndarray:
    if tensor.datatype == "BYTES":
        return deserialize_bytes_tensor(raw).reshape(shape)
    return np.frombuffer(raw, dtype=triton_to_np_dtype(tensor.datatype)).reshape(shape)


def _request_problem(
    config: model_config_pb2.ModelConfig, inputs: dict[str, ReceivedInput]
) -> str | None:
    """What Triton would reject in the request, in words, or None."""
    declared = {tensor.name: tensor for tensor in config.input}
    for name, received in inputs.items():
        tensor = declared.get(name)
        if tensor is None:
            return f"unexpected inference input '{name}' for model '{config.name}'"
        expected_type = kserve_datatype(tensor.data_type)
        if received.datatype != expected_type:
            return (
                f"input '{name}' has datatype {received.datatype}, "
                f"model '{config.name}' expects {expected_type}"
            )
        if not _shape_fits(received.shape, tensor.dims, config.max_batch_size):
            return (
                f"input '{name}' has shape {list(received.shape)}, model '{config.name}' "
                f"expects [batch<={config.max_batch_size}] + {list(tensor.dims)}"
            )
    missing = [name for name, tensor in declared.items() if not tensor.optional]
    missing = [name for name in missing if name not in inputs]
    if missing:
        return f"model '{config.name}' requires input(s) {', '.join(missing)}"
    return None


def _shape_fits(shape: Sequence[int], dims: Sequence[int], max_batch_size: int) -> bool:
    if max_batch_size > 0:
        if not shape or not 1 <= shape[0] <= max_batch_size:
            return False
        shape = shape[1:]
    return len(shape) == len(dims) and all(d in (-1, s) for s, d in zip(shape, dims, strict=True))


def _text_reply(text: str) -> TensorReply:
    value = np.array([[text.encode()]], dtype=np.object_)
    output = OutputTensor(name=TEXT_OUTPUT, datatype="BYTES", shape=list(value.shape))
    return TensorReply((output,), (serialize_byte_tensor(value).item(),))
