"""The attempt filter's stream, one per upstream attempt of a request with a `retry_policy`:
the attempt's request body is rewritten for its model, and its response decides whether Envoy
retries (see `extproc/attempts.py`)."""

from __future__ import annotations

from plano_extproc.extproc.attempts import AttemptStream
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingRequest
from plano_extproc.extproc.messages import CONTINUE_HEADERS
from plano_extproc.extproc.processors.base import Processor, Replies
from plano_extproc.extproc.processors.translating import store_completed


class AttemptProcessor(Processor):
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._attempt = AttemptStream(gateway.failover)

    async def on_request_headers(self, message: ProcessingRequest) -> Replies:
        yield CONTINUE_HEADERS

    async def on_request_body(self, message: ProcessingRequest) -> Replies:
        yield await self._attempt.on_request_body(message)

    async def on_response_headers(self, message: ProcessingRequest) -> Replies:
        yield await self._attempt.on_response_headers(message)
        if not self._attempt.reads_response_body:
            self.finished = True

    async def on_response_body(self, message: ProcessingRequest) -> Replies:
        body = message.response_body
        reply = await self._attempt.on_response_body(body.body, body.end_of_stream)
        await store_completed(self._gateway, self._attempt.translation)
        yield reply
