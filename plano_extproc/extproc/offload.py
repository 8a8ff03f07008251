"""CPU work on large request bodies, off the event loop, with admission control.

Parsing, checking and rewriting a body of megabytes takes tens to hundreds of milliseconds of
CPU. On the event loop that would stall every other stream of the worker, its health checks
included, and Envoy would eject a healthy worker. Bodies above `LARGE_BODY_BYTES` are handled
by a small thread pool instead (the loop keeps its turns: the work releases the GIL between
Python steps), and at most `MAX_LARGE_IN_FLIGHT` of them are accepted at once: one more is
refused with a 429 rather than queued behind the others.

While a large body is in flight the process runs in a large-body mode, left when the last
one is done (bench/chaos.py translated_burst: 0 small requests failed, against 8 to 11, and the
slowest health check went from 1.3 s to under 0.6 s):
- the cyclic garbage collector is paused. A parsed body of 100,000 turns is hundreds of
  thousands of objects that live for the whole request; each full collection walked all of
  them, holding the interpreter lock, and found almost nothing to free (cycles are rare here;
  the bodies are freed by reference counting). Six such bodies made full collections of 100
  to 600 ms back to back, which no thread pool can hide from the event loop;
- a thread holding the interpreter lock hands it over after 0.5 ms instead of Python's 5 ms.
  The pool threads run pure Python; each time the event loop gave the lock up (each syscall
  of a loop turn) it waited up to 5 ms to get it back, so a loop turn took tens of
  milliseconds. Only in this mode: with the classifier's thread, the short interval cost the
  routed path a quarter of its throughput at 32 connections.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

LARGE_BODY_BYTES = 256 * 1024
# A parsed body takes about 17 times its size (a 3.5 MB chat of 100,000 turns: 60 MB), so six at
# the listener's 8 MiB limit stay under 1 GB, half the chart's memory limit for a worker.
MAX_LARGE_IN_FLIGHT = 6
WORKER_THREADS = 2

_P = ParamSpec("_P")
_T = TypeVar("_T")


class TooManyLargeBodies(Exception):
    """Admission refused: the worker already handles its share of large bodies."""


LARGE_BODY_SWITCH_INTERVAL_SECONDS = 0.0005


class _LargeBodyMode:
    """Counts the large bodies in flight in the process: with one or more, the collector is
    paused and the switch interval short; with none, both are as they were before the first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._collector_was_enabled = False
        self._switch_interval = sys.getswitchinterval()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._enter()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._leave()

    def _enter(self) -> None:
        self._collector_was_enabled = gc.isenabled()
        self._switch_interval = sys.getswitchinterval()
        gc.disable()
        sys.setswitchinterval(LARGE_BODY_SWITCH_INTERVAL_SECONDS)

    def _leave(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        if self._collector_was_enabled:
            gc.enable()


_LARGE_BODY_MODE = _LargeBodyMode()


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
            with _LARGE_BODY_MODE.held():
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
        with _LARGE_BODY_MODE.held():
            return await loop.run_in_executor(self._executor, partial(work, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
