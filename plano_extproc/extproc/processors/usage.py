"""The usage filter's stream (an untranslated request charged under `ratelimits`): the response
headers, then the body chunk by chunk, read for the charge's correction. Envoy sends them in
observability mode: it does not wait for, and ignores, any reply, so none is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingRequest
from plano_extproc.extproc.usage_correction import UsageCorrection


async def read_usage_stream(gateway: Gateway, messages: AsyncIterator[ProcessingRequest]) -> None:
    """Reads the stream until the answer's end (or the stream's, when Envoy gives up on it)."""
    usage: UsageCorrection | None = None
    async for message in messages:
        phase = message.WhichOneof("request")
        if phase == "response_headers":
            usage = UsageCorrection.start(gateway.limits, message, None)
            if usage is None or message.response_headers.end_of_stream:
                break
        elif phase == "response_body" and usage is not None:
            usage.feed(message.response_body.body)
            if message.response_body.end_of_stream:
                break
    if usage is not None:
        await usage.finish()
