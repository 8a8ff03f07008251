"""Micro-batching: texts submitted by concurrent requests are encoded in one forward pass.

Inference runs on dedicated threads (`workers`, one batch each at a time), so the event loop
never blocks on it. Requests that arrive while every worker is busy form the next batch. When
a worker is idle, a new request waits up to `window_s` for others (or until `max_batch` texts
are queued), but only while traffic is concurrent (the last batch served several requests):
one request at a time never pays the window.

Two queues: decisions' queries, and background work (embedding a new inline route set). A
batch takes queries first and background texts only to fill the rest, so a large route set
is embedded in slices between decisions and never holds the thread for long. Both queues are
bounded in texts; past that, `encode` fails at once (the engine then falls back) instead of
queueing work that would miss its deadline anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import numpy as np

from plano_extproc.classifiers.base import ClassifierError

DEFAULT_WINDOW_S = 0.002
DEFAULT_MAX_BATCH = 32
# Queued texts per queue. A decision embeds one or two texts; an inline route set at most a
# few hundred (see the caps in api.inline_routes).
DEFAULT_MAX_QUEUED = 4096

T = TypeVar("T")
EncodeBatch = Callable[[list[str]], np.ndarray]


class Priority(Enum):
    QUERY = "query"
    BACKGROUND = "background"


class QueueFull(ClassifierError):
    """Too many texts are waiting to be embedded."""


@dataclass(slots=True)
class _Request:
    texts: Sequence[str]
    rows: asyncio.Future[np.ndarray]


class _Queue:
    def __init__(self, limit: int) -> None:
        self.requests: deque[_Request] = deque()
        self.texts = 0
        self.limit = limit

    def push(self, request: _Request) -> None:
        if self.texts + len(request.texts) > self.limit:
            raise QueueFull(f"more than {self.limit} texts are waiting to be embedded")
        self.requests.append(request)
        self.texts += len(request.texts)

    def pop(self) -> _Request:
        request = self.requests.popleft()
        self.texts -= len(request.texts)
        return request

    def fits(self, room: int) -> bool:
        return bool(self.requests) and len(self.requests[0].texts) <= room

    def take_all(self) -> list[_Request]:
        taken = list(self.requests)
        self.requests.clear()
        self.texts = 0
        return taken


class MicroBatcher:
    def __init__(
        self,
        *,
        workers: int = 1,
        window_s: float = DEFAULT_WINDOW_S,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        self._window_s = window_s
        self._max_batch = max_batch
        self._workers = workers
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="plano-embed")
        self._running: set[asyncio.Task[None]] = set()
        self._queues = {priority: _Queue(max_queued) for priority in Priority}
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._concurrent = False
        self._worker: asyncio.Task[None] | None = None

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Runs `function` on an inference thread (loading, one-off work)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def start(self, encode: EncodeBatch) -> None:
        """Starts batching with `encode`, which runs on the inference threads."""
        self._worker = asyncio.create_task(self._work(encode), name="plano-embed-batcher")

    async def encode(self, texts: Sequence[str], priority: Priority = Priority.QUERY) -> np.ndarray:
        """One row per text, computed in a batch with whatever else is queued."""
        if self._worker is None:
            raise ClassifierError("embedding batcher used before start()")
        request = _Request(texts, asyncio.get_running_loop().create_future())
        self._queues[priority].push(request)
        if self._queues[Priority.QUERY].texts >= self._max_batch:
            self._full.set()
        self._wake.set()
        return await request.rows

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        for task in list(self._running):
            task.cancel()
        for queue in self._queues.values():
            for request in queue.take_all():
                request.rows.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self, encode: EncodeBatch) -> None:
        idle = asyncio.Semaphore(self._workers)
        while True:
            await self._wake.wait()
            if self._concurrent:
                await self._gather()
            while any(queue.requests for queue in self._queues.values()):
                await idle.acquire()  # what queues meanwhile joins the batch
                task = asyncio.create_task(self._run(encode, self._take_batch()))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
                task.add_done_callback(lambda _: idle.release())
            self._wake.clear()

    async def _gather(self) -> None:
        """Lets concurrent requests join the first one, for at most the window."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._window_s):
                await self._full.wait()

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        texts = 0
        for priority in Priority:  # queries first
            queue = self._queues[priority]
            while queue.requests and (not batch or queue.fits(self._max_batch - texts)):
                request = queue.pop()
                # A caller that gave up (deadline) no longer needs its rows.
                if not request.rows.done():
                    batch.append(request)
                    texts += len(request.texts)
        if self._queues[Priority.QUERY].texts < self._max_batch:
            self._full.clear()
        return batch

    async def _run(self, encode: EncodeBatch, batch: list[_Request]) -> None:
        if not batch:
            return
        self._concurrent = len(batch) > 1
        texts = [text for request in batch for text in request.texts]
        try:
            rows = await self.call(encode, texts)
        except asyncio.CancelledError:
            for request in batch:
                request.rows.cancel()
            raise
        except Exception as error:
            for request in batch:
                if not request.rows.done():
                    request.rows.set_exception(ClassifierError(f"embedding failed: {error}"))
            return
        start = 0
        for request in batch:
            end = start + len(request.texts)
            if not request.rows.done():
                request.rows.set_result(rows[start:end])
            start = end
