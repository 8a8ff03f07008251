"""The translating filter's stream (translated requests, and charged ones under `ratelimits`):
response headers, then the response body chunk by chunk, each answered with its translation
into the client's API (or passed unchanged), its usage read for the rate limits' correction."""

from __future__ import annotations

from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingRequest
from plano_extproc.extproc.processors.base import Processor, Replies
from plano_extproc.extproc.translation import ResponseTranslation
from plano_extproc.extproc.usage_correction import UsageCorrection


class TranslatingProcessor(Processor):
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._translation: ResponseTranslation | None = None
        self._usage: UsageCorrection | None = None

    async def on_response_headers(self, message: ProcessingRequest) -> Replies:
        self._translation, reply = ResponseTranslation.start(message)
        translation = self._translation.translation if self._translation else None
        self._usage = UsageCorrection.start(self._gateway.limits, message, translation)
        yield reply

    async def on_response_body(self, message: ProcessingRequest) -> Replies:
        body = message.response_body
        if self._usage is not None:
            self._usage.feed(body.body)
            if body.end_of_stream:
                await self._usage.finish()
                self._usage = None
        if self._translation is None:
            async for reply in super().on_response_body(message):
                yield reply
            return
        reply = self._translation.on_body(body.body, body.end_of_stream)
        await store_completed(self._gateway, self._translation)
        yield reply


async def store_completed(gateway: Gateway, translation: ResponseTranslation | None) -> None:
    """Stored before the client gets the end of the answer, so that a follow-up naming it,
    sent at once and to any replica, finds it."""
    if translation is None or translation.completed is None or translation.state_key is None:
        return
    await gateway.remember(translation.state_key, *translation.completed)
    translation.completed = None
