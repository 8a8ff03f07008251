"""Each stream goes to the processor of the filter that opened it, chosen in one place."""

from __future__ import annotations

import orjson
import pytest

from plano_extproc.contract.metadata import ATTEMPT_FILTER_KIND, FILTER_KIND_METADATA
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    HttpBody,
    HttpHeaders,
    HttpTrailers,
    ProcessingRequest,
)
from plano_extproc.extproc.processors.attempt import AttemptProcessor
from plano_extproc.extproc.processors.base import Processor
from plano_extproc.extproc.processors.routing import RoutingProcessor
from plano_extproc.extproc.processors.translating import TranslatingProcessor
from plano_extproc.extproc.service import _processor_for

HEADERS = ProcessingRequest(request_headers=HttpHeaders())
RESPONSE_HEADERS = ProcessingRequest(response_headers=HttpHeaders())
BODY = ProcessingRequest(request_body=HttpBody(body=b"{}", end_of_stream=True))


@pytest.mark.parametrize(
    ("first", "metadata", "kind"),
    [
        (HEADERS, (), RoutingProcessor),
        (RESPONSE_HEADERS, (), TranslatingProcessor),
        (HEADERS, ((FILTER_KIND_METADATA, ATTEMPT_FILTER_KIND),), AttemptProcessor),
        (BODY, (), Processor),
    ],
)
def test_the_first_message_and_the_metadata_choose_the_processor(
    gateway: Gateway, first: ProcessingRequest, metadata: tuple, kind: type
) -> None:
    assert type(_processor_for(gateway, first, metadata)) is kind


async def test_a_body_before_its_headers_is_refused_never_continued() -> None:
    (reply,) = [r async for r in Processor().handle(BODY)]
    assert reply.immediate_response.status.code == 503
    error = orjson.loads(reply.immediate_response.body)["error"]
    assert error["details"]["reason"] == "unexpected_ext_proc_message"


async def test_trailers_are_acknowledged_unchanged() -> None:
    trailers = ProcessingRequest(request_trailers=HttpTrailers())
    (reply,) = [r async for r in Processor().handle(trailers)]
    assert reply.WhichOneof("response") == "request_trailers"
