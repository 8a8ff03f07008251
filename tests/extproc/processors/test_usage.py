"""The usage filter's stream: read for the charge's correction, never answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

import orjson

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.metadata import FILTER_KIND_METADATA, USAGE_FILTER_KIND
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import HttpBody, ProcessingRequest
from plano_extproc.extproc.processors.usage import read_usage_stream
from plano_extproc.extproc.request_limits import Charge
from plano_extproc.extproc.service import ExternalProcessorService
from plano_extproc.ratelimit.gcra import Quota
from tests.extproc.test_request_limits import GPT, _response_headers, limits

USAGE = {"usage": {"prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50}}


async def _stream(*messages: ProcessingRequest) -> AsyncIterator[ProcessingRequest]:
    for message in messages:
        yield message


def _chunk(body: bytes, end: bool) -> ProcessingRequest:
    return ProcessingRequest(response_body=HttpBody(body=body, end_of_stream=end))


async def test_the_answer_is_read_in_chunks_and_never_answered() -> None:
    request_limits, store = limits()
    charge = Charge((("u", Quota(1000, 60)),), 10, ClientApi.CHAT, GPT)
    await store.take(list(charge.buckets), 10)
    gateway: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    gateway.set_result(SimpleNamespace(limits=request_limits))
    service = ExternalProcessorService(gateway)  # type: ignore[arg-type]
    context = SimpleNamespace(
        invocation_metadata=lambda: ((FILTER_KIND_METADATA, USAGE_FILTER_KIND),)
    )
    body = orjson.dumps(USAGE)
    stream = _stream(
        _response_headers(200, charge), _chunk(body[:9], False), _chunk(body[9:], True)
    )

    replies = [reply async for reply in service.Process(stream, context)]  # type: ignore[arg-type]
    await request_limits.drain()

    assert replies == []
    assert [round(a) for a in await store.available(list(charge.buckets))] == [950]


async def test_a_stream_ended_early_keeps_the_estimate_and_the_text_seen() -> None:
    request_limits, store = limits()
    charge = Charge((("e", Quota(1000, 60)),), 10, ClientApi.CHAT, GPT)
    await store.take(list(charge.buckets), 10)
    gateway = SimpleNamespace(limits=request_limits)
    # Envoy closes the stream (client gone) before the body's end: no usage was reported.
    await read_usage_stream(gateway, _stream(_response_headers(200, charge)))  # type: ignore[arg-type]
    await request_limits.drain()

    assert [round(a) for a in await store.available(list(charge.buckets))] == [990]
