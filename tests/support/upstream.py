"""The test upstream: an HTTP/1.1 server that stands in for OpenAI and Anthropic behind Envoy.

It runs in a background thread with its own event loop, so sync and async tests can both use it::

    with running_upstream() as upstream:
        upstream.script("/v1/chat/completions", *failures(2), DefaultReply())
        ...  # send a request through Envoy
        assert upstream.requests[-1].json["model"] == "gpt-4o"

By default it answers like the real APIs: ``POST /v1/chat/completions`` (OpenAI Chat
Completions), ``POST /v1/messages`` (Anthropic Messages) and ``POST /v1/responses`` (OpenAI
Responses), each as JSON or, with ``"stream": true``, as that API's SSE stream; the reply echoes
the request's ``model``. Any path ending as one of those does the same (providers serve them
under their own prefixes: ``/v1beta/openai/chat/completions``). ``POST /model/{modelId}/converse``
and ``.../converse-stream`` answer as Amazon Bedrock (JSON, or the AWS event stream), for the
model the path names.
``GET /health`` answers 200. Every request is recorded, including unknown paths (answered 404).

Scripted replies are queued per path and used once each, before the defaults:
`JsonReply` (any status and body), `ErrorReply` (the path's API error shape), `StreamReply`
(chunk by chunk, with a delay between chunks or held on a gate) and `DefaultReply` (the default
answer, optionally after a delay before the headers).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from tests.support.upstream_payloads import (
    DEFAULT_PIECES,
    Api,
    api_for_path,
    error_reply,
    json_body,
    model_in_path,
    path_asks_for_stream,
    stream_content_type,
    stream_frames,
)

STARTUP_TIMEOUT_SECONDS = 10.0
# Bounds on anything a test could leave hanging: a gate never opened, a stop during a delay.
GATE_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 2.0
HEALTH_PATH = "/health"
# Out-of-process scripting (the compose stack's provider): POST {"model": M, "replies": [...]},
# each reply {"status": 429, "headers": {...}, "delay_s": 1.5} (an error) or {"delay_s": 2}.
SCRIPT_PATH = "/_mock/script"
_GATE_POLL_SECONDS = 0.01

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # names lowercased; repeated headers joined with ", "
    body: bytes
    json: Any  # the parsed body, or None when it is not JSON


@dataclass(frozen=True, slots=True)
class DefaultReply:
    """The path's default answer (JSON or SSE as the request asks), after `delay_s`."""

    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class JsonReply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error in the shape of the path's API (OpenAI ``{"error": ...}``, Anthropic's or
    Bedrock's ``{"message": ...}`` with its ``x-amzn-errortype`` header)."""

    status: int = 503
    message: str = "scripted upstream failure"
    delay_s: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamReply:
    """The path's SSE stream with one text delta per piece, whatever the request's `stream`.

    `interval_s` sleeps between events. With a `gate`, the stream stops after the first text
    delta until the gate is set (and is aborted if it stays shut for GATE_TIMEOUT_SECONDS): a
    client that receives that delta while the upstream still holds the rest proves
    chunk-by-chunk delivery without timing anything.
    """

    pieces: tuple[str, ...] = DEFAULT_PIECES
    interval_s: float = 0.0
    gate: threading.Event | None = None
    delay_s: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True, slots=True)
class RawReply:
    """Bytes as they are, chunk by chunk, under `content_type` (a tool-call event stream)."""

    chunks: tuple[bytes, ...]
    content_type: str
    status: int = 200
    delay_s: float = 0.0


Reply = DefaultReply | JsonReply | ErrorReply | StreamReply | RawReply


def failures(count: int, status: int = 503) -> tuple[ErrorReply, ...]:
    """`count` error replies, e.g. ``script(path, *failures(2), DefaultReply())`` for retries."""
    return tuple(ErrorReply(status) for _ in range(count))


def slow_stream(chunks: int, interval_s: float) -> StreamReply:
    return StreamReply(tuple(f"chunk-{index} " for index in range(chunks)), interval_s)


class UpstreamServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._model_scripts: dict[str, deque[Reply]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def wait_for_requests(self, count: int, timeout_s: float = 10.0) -> list[RecordedRequest]:
        """Blocks until at least `count` requests arrived (from async code: asyncio.to_thread)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout_s):
                raise TimeoutError(f"{len(self._requests)} of {count} requests after {timeout_s}s")
            return list(self._requests)

    def script(self, path: str, *replies: Reply) -> None:
        """Queues replies for `path`, each used once, in order, before the default answer."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def script_model(self, model: str, *replies: Reply) -> None:
        """Queues replies for requests naming `model` (any path); they come before the path's."""
        with self._lock:
            self._model_scripts.setdefault(model, deque()).extend(replies)

    def pending_replies(self, path: str) -> int:
        with self._lock:
            return len(self._scripts.get(path, ()))

    def reset(self) -> None:
        """Forgets recorded requests and unused scripted replies."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._model_scripts.clear()

    def start(self) -> None:
        if self._loop is not None:
            raise RuntimeError("the upstream is already running")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="test-upstream", daemon=True)
        self._thread.start()
        self._loop = loop
        self.port = self._on_loop(self._serve())

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            self._on_loop(self._runner.cleanup())
            self._runner = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STARTUP_TIMEOUT_SECONDS)
        loop.close()
        self._loop = self._thread = None

    def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(STARTUP_TIMEOUT_SECONDS + SHUTDOWN_TIMEOUT_SECONDS)

    async def _serve(self) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gives up (an Envoy timeout) cancels a delayed reply.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        recorded = await _record(request)
        with self._lock:
            self._requests.append(recorded)
            self._lock.notify_all()
        if request.method == "GET" and request.path == HEALTH_PATH:
            return web.json_response({"status": "ok"})
        if request.method == "POST" and request.path == SCRIPT_PATH:
            return self._script_from(recorded)
        api = api_for_path(request.path)
        if api is None or request.method != "POST":
            return web.json_response({"error": {"message": "not found"}}, status=404)
        reply = self._next_reply(request.path, _requested_model(recorded))
        await asyncio.sleep(reply.delay_s)
        return await self._answer(request, recorded, api, reply)

    def _script_from(self, recorded: RecordedRequest) -> web.StreamResponse:
        order = recorded.json if isinstance(recorded.json, dict) else {}
        model, replies = order.get("model"), order.get("replies")
        if not isinstance(model, str) or not isinstance(replies, list):
            return web.json_response({"error": {"message": "need model and replies"}}, status=400)
        self.script_model(model, *(_reply_from(item) for item in replies))
        return web.json_response({"scripted": len(replies)})

    def _next_reply(self, path: str, model: str) -> Reply:
        with self._lock:
            for queue in (self._model_scripts.get(model), self._scripts.get(path)):
                if queue:
                    return queue.popleft()
            return DefaultReply()

    async def _answer(
        self, request: web.Request, recorded: RecordedRequest, api: Api, reply: Reply
    ) -> web.StreamResponse:
        match reply:
            case JsonReply():
                return web.json_response(reply.body, status=reply.status, headers=reply.headers)
            case ErrorReply():
                body, headers = error_reply(api, reply.status, reply.message)
                return web.json_response(
                    body, status=reply.status, headers={**headers, **reply.headers}
                )
            case StreamReply():
                return await self._stream(request, recorded, api, reply)
            case RawReply():
                response = web.StreamResponse(
                    status=reply.status, headers={"content-type": reply.content_type}
                )
                await response.prepare(request)
                for chunk in reply.chunks:
                    await response.write(chunk)
                await response.write_eof()
                return response
            case DefaultReply() if _wants_stream(recorded):
                return await self._stream(request, recorded, api, StreamReply())
            case DefaultReply():
                model, prompt_bytes = _requested_model(recorded), len(recorded.body)
                body = json_body(api, self._next_id(), model, DEFAULT_PIECES, prompt_bytes)
                return web.json_response(body)

    async def _stream(
        self, request: web.Request, recorded: RecordedRequest, api: Api, reply: StreamReply
    ) -> web.StreamResponse:
        model, prompt_bytes = _requested_model(recorded), len(recorded.body)
        frames = stream_frames(
            api,
            self._next_id(),
            model,
            reply.pieces,
            prompt_bytes,
            include_usage=_wants_usage(recorded),
        )
        response = web.StreamResponse(
            headers={"content-type": stream_content_type(api), "cache-control": "no-cache"}
        )
        await response.prepare(request)
        for index, frame in enumerate(frames.all()):
            if index and reply.interval_s:
                await asyncio.sleep(reply.interval_s)
            await response.write(frame)
            if reply.gate is not None and index == frames.first_delta:
                await _wait_for_gate(reply.gate)
        await response.write_eof()
        return response

    def _next_id(self) -> str:
        return f"test{next(self._ids)}"


async def _record(request: web.Request) -> RecordedRequest:
    body = await request.read()
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=request.query_string,
        headers=headers,
        body=body,
        json=_parse_json(body),
    )


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


def _reply_from(item: Any) -> Reply:
    delay_s = float(item.get("delay_s", 0.0)) if isinstance(item, dict) else 0.0
    status = item.get("status") if isinstance(item, dict) else None
    if isinstance(status, int) and status >= 400:
        headers = item.get("headers") or {}
        return ErrorReply(status, delay_s=delay_s, headers=dict(headers))
    return DefaultReply(delay_s=delay_s)


def _requested_model(recorded: RecordedRequest) -> str:
    named = model_in_path(recorded.path)
    if named is not None:
        return named
    payload = recorded.json
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) else "unknown"


def _wants_usage(recorded: RecordedRequest) -> bool:
    options = recorded.json.get("stream_options") if isinstance(recorded.json, dict) else None
    return isinstance(options, dict) and options.get("include_usage") is True


def _wants_stream(recorded: RecordedRequest) -> bool:
    if path_asks_for_stream(recorded.path):
        return True
    return isinstance(recorded.json, dict) and recorded.json.get("stream") is True


async def _wait_for_gate(gate: threading.Event) -> None:
    """Raises (aborting the stream) if the gate stays shut: a proxy that buffers the stream
    must never see it complete."""
    # The gate is set from the test's thread. Polled rather than waited on in a worker thread,
    # so a cancelled handler leaves nothing blocked.
    deadline = time.monotonic() + GATE_TIMEOUT_SECONDS
    while not gate.is_set():
        if time.monotonic() > deadline:
            raise TimeoutError(f"stream gate still shut after {GATE_TIMEOUT_SECONDS}s")
        await asyncio.sleep(_GATE_POLL_SECONDS)


@contextmanager
def running_upstream(host: str = "127.0.0.1", port: int = 0) -> Iterator[UpstreamServer]:
    upstream = UpstreamServer(host, port)
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


def main() -> None:
    """Serves as a stand-alone mock provider (the compose stack's `provider` service)."""
    parser = argparse.ArgumentParser(description="mock OpenAI/Anthropic provider")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    with running_upstream(args.host, args.port) as upstream:
        print(f"mock provider on {args.host}:{upstream.port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
