"""What every processor does with a phase it does not handle."""

from __future__ import annotations

from collections.abc import AsyncIterator

from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    BodyResponse,
    ProcessingRequest,
    ProcessingResponse,
    TrailersResponse,
)
from plano_extproc.extproc.messages import problem_reply

# A phase's answers, in order: Envoy reads them as they come (e.g. a longer-wait request first).
Replies = AsyncIterator[ProcessingResponse]

_ACKNOWLEDGE = {
    "response_body": ProcessingResponse(response_body=BodyResponse()),
    "request_trailers": ProcessingResponse(request_trailers=TrailersResponse()),
    "response_trailers": ProcessingResponse(response_trailers=TrailersResponse()),
}
# A message no phase of ours expects (a request body before its headers, say). Continuing
# unchanged would forward a request the service never rewrote: it is refused instead.
_UNEXPECTED = problem_reply(
    503,
    "RoutingUnavailable",
    "the routing service received an unexpected message",
    "unexpected_ext_proc_message",
)


class Processor:
    """Trailers and response chunks nobody translates are acknowledged unchanged; any other
    message a subclass does not handle is refused with a 503, never continued. `finished`
    tells the service to end the stream."""

    finished = False

    async def on_request_headers(self, message: ProcessingRequest) -> Replies:
        yield acknowledge("request_headers")

    async def on_request_body(self, message: ProcessingRequest) -> Replies:
        yield acknowledge("request_body")

    async def on_response_headers(self, message: ProcessingRequest) -> Replies:
        yield acknowledge("response_headers")

    async def on_response_body(self, message: ProcessingRequest) -> Replies:
        yield acknowledge("response_body")

    def handle(self, message: ProcessingRequest) -> Replies:
        """The replies to `message`, by its phase."""
        phase = message.WhichOneof("request")
        if phase == "request_headers":
            return self.on_request_headers(message)
        if phase == "request_body":
            return self.on_request_body(message)
        if phase == "response_headers":
            return self.on_response_headers(message)
        if phase == "response_body":
            return self.on_response_body(message)
        return self._other(phase)

    @staticmethod
    async def _other(phase: str | None) -> Replies:
        yield acknowledge(phase)


def acknowledge(phase: str | None) -> ProcessingResponse:
    return _ACKNOWLEDGE.get(phase or "", _UNEXPECTED)
