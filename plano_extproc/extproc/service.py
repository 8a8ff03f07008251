"""The ExternalProcessor gRPC service: one bidirectional stream per HTTP request.

Three kinds of stream arrive. The routing filter's: request headers → (continue) → the buffered
request body → one answer, after which the service ends the stream (Envoy then goes on without
it, so the request no longer depends on this process). The translating filter's (translated
requests only): response headers → response body chunks, each answered with its translation.
The attempt filter's, one
per upstream attempt of a request with a `retry_policy` (their gRPC metadata says so): see
`attempts.py`. Trailers and untranslated response chunks are acknowledged unchanged; any other
unexpected message is refused with a 503, never continued.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from google.protobuf.duration_pb2 import Duration

from plano_extproc.contract.clusters import LARGE_BODY_MESSAGE_TIMEOUT
from plano_extproc.contract.metadata import ATTEMPT_FILTER_KIND, FILTER_KIND_METADATA
from plano_extproc.extproc.gateway import Gateway, PendingRequest
from plano_extproc.extproc.generated.envoy import ext_proc_pb2_grpc
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    BodyResponse,
    ProcessingRequest,
    ProcessingResponse,
    TrailersResponse,
)
from plano_extproc.extproc.messages import CONTINUE_HEADERS, header_dict, json_reply
from plano_extproc.extproc.offload import Offload
from plano_extproc.extproc.translation import ResponseTranslation
from plano_extproc.telemetry.trace import TraceParent, metadata_trace_parent

_ACKNOWLEDGE = {
    "response_body": ProcessingResponse(response_body=BodyResponse()),
    "request_trailers": ProcessingResponse(request_trailers=TrailersResponse()),
    "response_trailers": ProcessingResponse(response_trailers=TrailersResponse()),
}
# A message no phase of ours expects (a request body before its headers, say). Continuing
# unchanged would forward a request the service never rewrote: it is refused instead.
_UNEXPECTED = json_reply(
    503,
    {
        "error": {
            "code": "RoutingUnavailable",
            "message": "the routing service received an unexpected message",
            "details": {"reason": "unexpected_ext_proc_message"},
        }
    },
)
# Asks Envoy to wait longer for this message's answer: a large body takes a while.
_LONGER_WAIT = ProcessingResponse(
    override_message_timeout=Duration(seconds=int(LARGE_BODY_MESSAGE_TIMEOUT.total_seconds()))
)


class ExternalProcessorService(ext_proc_pb2_grpc.ExternalProcessorServicer):
    def __init__(self, gateway: asyncio.Future[Gateway]) -> None:
        # Resolved once the router has loaded; health reports NOT_SERVING until then, so
        # Envoy only opens streams early if health checking is off.
        self._gateway = gateway

    async def Process(
        self, request_iterator: AsyncIterator[ProcessingRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ProcessingResponse]:
        gateway = await self._gateway
        if (FILTER_KIND_METADATA, ATTEMPT_FILTER_KIND) in (context.invocation_metadata() or ()):
            async for reply in self._attempt(gateway, request_iterator):
                yield reply
            return
        pending: PendingRequest | None = None
        translation: ResponseTranslation | None = None
        async for message in request_iterator:
            phase = message.WhichOneof("request")
            if phase == "request_headers":
                pending, reply = self._on_headers(
                    gateway, message, metadata_trace_parent(context.invocation_metadata())
                )
                yield reply
            elif phase == "request_body" and pending is not None:
                body = message.request_body.body
                if Offload.is_large(body):
                    yield _LONGER_WAIT
                yield await gateway.on_body(pending, body)
                # The routing filter expects nothing more: ending its stream takes the service
                # out of the request's path, so a restart or crash cannot fail it any more.
                return
            elif phase == "response_headers":
                translation, reply = ResponseTranslation.start(message)
                yield reply
            elif phase == "response_body" and translation is not None:
                yield await _translated(gateway, translation, message)
            else:
                yield _acknowledge(phase)

    @staticmethod
    async def _attempt(
        gateway: Gateway, request_iterator: AsyncIterator[ProcessingRequest]
    ) -> AsyncIterator[ProcessingResponse]:
        attempt = gateway.failover.stream()
        async for message in request_iterator:
            phase = message.WhichOneof("request")
            if phase == "request_headers":
                yield CONTINUE_HEADERS
            elif phase == "request_body":
                yield await attempt.on_request_body(message)
            elif phase == "response_headers":
                yield await attempt.on_response_headers(message)
                if not attempt.reads_response_body:
                    return
            elif phase == "response_body":
                body = message.response_body
                reply = await attempt.on_response_body(body.body, body.end_of_stream)
                await _store_completed(gateway, attempt.translation)
                yield reply
            else:
                yield _acknowledge(phase)

    @staticmethod
    def _on_headers(
        gateway: Gateway, message: ProcessingRequest, trace_parent: TraceParent | None
    ) -> tuple[PendingRequest | None, ProcessingResponse]:
        headers = header_dict(message.request_headers.headers)
        method = headers.pop(":method", "")
        path = headers.pop(":path", "")
        reply, pending = gateway.on_headers(
            method, path, message.request_headers.end_of_stream, headers, trace_parent
        )
        return pending, reply


def _acknowledge(phase: str | None) -> ProcessingResponse:
    return _ACKNOWLEDGE.get(phase or "", _UNEXPECTED)


async def _translated(
    gateway: Gateway, translation: ResponseTranslation, message: ProcessingRequest
) -> ProcessingResponse:
    body = message.response_body
    reply = translation.on_body(body.body, body.end_of_stream)
    await _store_completed(gateway, translation)
    return reply


async def _store_completed(gateway: Gateway, translation: ResponseTranslation | None) -> None:
    """Stored before the client gets the end of the answer, so that a follow-up naming it,
    sent at once and to any replica, finds it."""
    if translation is None or translation.completed is None or translation.state_key is None:
        return
    await gateway.remember(translation.state_key, *translation.completed)
    translation.completed = None
