"""The routing filter's stream: request headers (pick the endpoint), then the buffered body (one
answer: the decision, or the request rewritten for its provider), after which the stream ends,
so the request no longer depends on this process."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration

from plano_extproc.contract.clusters import LARGE_BODY_MESSAGE_TIMEOUT
from plano_extproc.extproc.gateway import Gateway, PendingRequest
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    ProcessingRequest,
    ProcessingResponse,
)
from plano_extproc.extproc.messages import header_dict
from plano_extproc.extproc.offload import Offload
from plano_extproc.extproc.processors.base import Processor, Replies, acknowledge
from plano_extproc.telemetry.trace import TraceParent

# Asks Envoy to wait longer for this message's answer: a large body takes a while.
_LONGER_WAIT = ProcessingResponse(
    override_message_timeout=Duration(seconds=int(LARGE_BODY_MESSAGE_TIMEOUT.total_seconds()))
)


class RoutingProcessor(Processor):
    def __init__(self, gateway: Gateway, trace_parent: TraceParent | None) -> None:
        self._gateway = gateway
        # Envoy's span for this ext_proc call, when Envoy traces.
        self._trace_parent = trace_parent
        self._pending: PendingRequest | None = None

    async def on_request_headers(self, message: ProcessingRequest) -> Replies:
        headers = header_dict(message.request_headers.headers)
        method = headers.pop(":method", "")
        path = headers.pop(":path", "")
        reply, self._pending = self._gateway.on_headers(
            method, path, message.request_headers.end_of_stream, headers, self._trace_parent
        )
        yield reply

    async def on_request_body(self, message: ProcessingRequest) -> Replies:
        if self._pending is None:
            yield acknowledge("request_body")
            return
        body = message.request_body.body
        if Offload.is_large(body):
            yield _LONGER_WAIT
        yield await self._gateway.on_body(self._pending, body)
        # The routing filter expects nothing more: ending its stream takes the service out of
        # the request's path, so a restart or crash cannot fail it any more.
        self.finished = True
