"""CPU work on large request bodies, off the event loop, with admission control.

Parsing, checking and rewriting a body of megabytes takes tens to hundreds of milliseconds of
CPU. On the event loop that would stall every other stream of the worker, its health checks
included, and Envoy would eject a healthy worker. Bodies above `LARGE_BODY_BYTES` are handled
by a small thread pool instead (the loop keeps its turns: the work releases the GIL between
Python steps), and at most `MAX_LARGE_IN_FLIGHT` of them are accepted at once: one more is
refused with a 429 rather than queued behind the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

LARGE_BODY_BYTES = 256 * 1024
MAX_LARGE_IN_FLIGHT = 4
WORKER_THREADS = 2

_P = ParamSpec("_P")
_T = TypeVar("_T")


class TooManyLargeBodies(Exception):
    """Admission refused: the worker already handles its share of large bodies."""


class Offload:
    def __init__(self, max_in_flight: int = MAX_LARGE_IN_FLIGHT) -> None:
        self._executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="plano-body")
        self._max_in_flight = max_in_flight
        self._in_flight = 0

    @staticmethod
    def is_large(body: bytes) -> bool:
        return len(body) > LARGE_BODY_BYTES

    @contextmanager
    def admitted(self, body: bytes) -> Iterator[None]:
        """Holds one large-body slot for the request (none for a small body); raises
        TooManyLargeBodies when every slot is taken."""
        if not self.is_large(body):
            yield
            return
        if self._in_flight >= self._max_in_flight:
            raise TooManyLargeBodies
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    async def run(
        self, body: bytes, work: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """`work(*args, **kwargs)`, in the pool when `body` is large, else right here."""
        if not self.is_large(body):
            return work(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(work, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
