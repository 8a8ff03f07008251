"""The ExternalProcessor gRPC service: one bidirectional stream per HTTP request, handled by the
processor of the filter that opened it (`processors/`), chosen here and only here:

- the attempt filter's and the usage filter's streams carry gRPC metadata that says so;
- the routing filter's begin with the request headers;
- the translating filter's begin with the response headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from plano_extproc.contract.metadata import (
    ATTEMPT_FILTER_KIND,
    FILTER_KIND_METADATA,
    USAGE_FILTER_KIND,
)
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy import ext_proc_pb2_grpc
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    ProcessingRequest,
    ProcessingResponse,
)
from plano_extproc.extproc.processors.attempt import AttemptProcessor
from plano_extproc.extproc.processors.base import Processor
from plano_extproc.extproc.processors.routing import RoutingProcessor
from plano_extproc.extproc.processors.translating import TranslatingProcessor
from plano_extproc.extproc.processors.usage import read_usage_stream
from plano_extproc.telemetry.trace import metadata_trace_parent


class ExternalProcessorService(ext_proc_pb2_grpc.ExternalProcessorServicer):
    def __init__(self, gateway: asyncio.Future[Gateway]) -> None:
        # Resolved once the router has loaded; health reports NOT_SERVING until then, so
        # Envoy only opens streams early if health checking is off.
        self._gateway = gateway

    async def Process(
        self, request_iterator: AsyncIterator[ProcessingRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ProcessingResponse]:
        gateway = await self._gateway
        metadata = context.invocation_metadata() or ()
        if (FILTER_KIND_METADATA, USAGE_FILTER_KIND) in metadata:
            await read_usage_stream(gateway, request_iterator)
            return
        processor: Processor | None = None
        async for message in request_iterator:
            if processor is None:
                processor = _processor_for(gateway, message, metadata)
            async for reply in processor.handle(message):
                yield reply
            if processor.finished:
                return


def _processor_for(
    gateway: Gateway, first: ProcessingRequest, metadata: grpc.aio.Metadata | tuple[()]
) -> Processor:
    if (FILTER_KIND_METADATA, ATTEMPT_FILTER_KIND) in metadata:
        return AttemptProcessor(gateway)
    phase = first.WhichOneof("request")
    if phase == "request_headers":
        return RoutingProcessor(gateway, metadata_trace_parent(metadata))
    if phase == "response_headers":
        return TranslatingProcessor(gateway)
    # A stream that starts anywhere else: acknowledged or refused, message by message.
    return Processor()
