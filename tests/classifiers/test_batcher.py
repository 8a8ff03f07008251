"""MicroBatcher: batching, priorities, bounds and failure handling, with a fake encoder."""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import AsyncIterator, Sequence

import numpy as np
import pytest

from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.classifiers.batcher import MicroBatcher, Priority, QueueFull

# Longest a test waits on anything; every wait is far shorter when the code is right.
TIMEOUT_S = 5.0


def row(text: str) -> np.ndarray:
    """The fake embedding of `text`: distinct texts get distinct rows."""
    return np.array([float(zlib.crc32(text.encode())), float(len(text))])


def rows(texts: Sequence[str]) -> np.ndarray:
    return np.array([row(text) for text in texts]).reshape(len(texts), 2)


class FakeEncoder:
    """Records every batch; optionally holds the inference thread until `release()`."""

    def __init__(self, *, hold: bool = False, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.threads: list[str] = []
        self.entered = threading.Event()
        self._released = threading.Event()
        if not hold:
            self._released.set()
        self._fail_on = fail_on

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        self._released.wait(TIMEOUT_S)
        if self._fail_on is not None and self._fail_on in texts:
            raise RuntimeError(f"cannot embed {self._fail_on!r}")
        return rows(texts)

    def release(self) -> None:
        self._released.set()

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, TIMEOUT_S), "encode never ran"


async def settle() -> None:
    """Lets every ready task run up to its next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def hold_thread(batcher: MicroBatcher, encoder: FakeEncoder) -> asyncio.Task[np.ndarray]:
    """Occupies the inference thread with one request, so later ones queue up."""
    blocker = asyncio.create_task(batcher.encode(["blocker"]))
    await encoder.wait_entered()
    return blocker


def submit(
    batcher: MicroBatcher, texts: Sequence[str], priority: Priority = Priority.QUERY
) -> asyncio.Task[np.ndarray]:
    return asyncio.create_task(batcher.encode(texts, priority))


async def finish(*tasks: asyncio.Task[np.ndarray]) -> list[np.ndarray]:
    async with asyncio.timeout(TIMEOUT_S):
        return list(await asyncio.gather(*tasks))


@pytest.fixture
async def batcher() -> AsyncIterator[MicroBatcher]:
    created = MicroBatcher(window_s=0.0)
    yield created
    await created.close()


async def test_rows_map_back_to_their_requests(batcher: MicroBatcher) -> None:
    encoder = FakeEncoder()
    batcher.start(encoder)
    requests = [["alpha"], ["beta", "gamma", "delta"], ["epsilon", "zeta"]]
    results = await finish(*(submit(batcher, texts) for texts in requests))
    for texts, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result, rows(texts))


async def test_concurrent_requests_share_one_batch(batcher: MicroBatcher) -> None:
    encoder = FakeEncoder()
    batcher.start(encoder)
    await finish(submit(batcher, ["a"]), submit(batcher, ["b", "c"]), submit(batcher, ["d"]))
    assert encoder.batches == [["a", "b", "c", "d"]]


async def test_requests_queued_during_a_batch_form_the_next_one(batcher: MicroBatcher) -> None:
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    blocker = await hold_thread(batcher, encoder)
    queued = [submit(batcher, ["x"]), submit(batcher, ["y"]), submit(batcher, ["z"])]
    await settle()
    encoder.release()
    await finish(blocker, *queued)
    assert encoder.batches == [["blocker"], ["x", "y", "z"]]


async def test_encode_runs_on_the_inference_thread(batcher: MicroBatcher) -> None:
    encoder = FakeEncoder()
    batcher.start(encoder)
    await finish(submit(batcher, ["a"]))
    assert encoder.threads[0].startswith("plano-embed")
    assert threading.current_thread().name not in encoder.threads


async def test_call_runs_on_the_inference_thread(batcher: MicroBatcher) -> None:
    name = await batcher.call(lambda: threading.current_thread().name)
    assert name.startswith("plano-embed")


async def test_queries_are_taken_before_earlier_background_work() -> None:
    batcher = MicroBatcher(window_s=0.0, max_batch=2)
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    try:
        blocker = await hold_thread(batcher, encoder)
        background = submit(batcher, ["b1", "b2"], Priority.BACKGROUND)
        await settle()
        queries = [submit(batcher, ["q1"]), submit(batcher, ["q2"])]
        await settle()
        encoder.release()
        results = await finish(blocker, background, *queries)
    finally:
        await batcher.close()
    assert encoder.batches == [["blocker"], ["q1", "q2"], ["b1", "b2"]]
    np.testing.assert_array_equal(results[1], rows(["b1", "b2"]))


async def test_background_fills_the_rest_of_a_batch_after_queries() -> None:
    batcher = MicroBatcher(window_s=0.0, max_batch=4)
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    try:
        blocker = await hold_thread(batcher, encoder)
        background = [
            submit(batcher, ["b1"], Priority.BACKGROUND),
            submit(batcher, ["b2", "b3"], Priority.BACKGROUND),
        ]
        await settle()
        query = submit(batcher, ["q1", "q2"])
        await settle()
        encoder.release()
        await finish(blocker, *background, query)
    finally:
        await batcher.close()
    assert encoder.batches == [["blocker"], ["q1", "q2", "b1"], ["b2", "b3"]]


async def test_batches_never_exceed_max_batch_except_one_oversized_request() -> None:
    max_batch = 3
    batcher = MicroBatcher(window_s=0.0, max_batch=max_batch)
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    requests = [["a1", "a2"], ["b1", "b2"], ["c1"], ["d1", "d2", "d3", "d4", "d5"], ["e1"]]
    try:
        blocker = await hold_thread(batcher, encoder)
        tasks = [submit(batcher, texts) for texts in requests]
        await settle()
        encoder.release()
        results = await finish(blocker, *tasks)
    finally:
        await batcher.close()
    assert encoder.batches[1:] == [["a1", "a2"], ["b1", "b2", "c1"], requests[3], ["e1"]]
    for batch in encoder.batches:
        assert len(batch) <= max_batch or batch in requests
    for texts, result in zip(requests, results[1:], strict=True):
        np.testing.assert_array_equal(result, rows(texts))


async def test_queue_full_when_more_than_max_queued_texts_wait() -> None:
    batcher = MicroBatcher(window_s=0.0, max_queued=3)
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    try:
        blocker = await hold_thread(batcher, encoder)
        accepted = [submit(batcher, ["a", "b"]), submit(batcher, ["c"])]  # exactly the limit
        await settle()
        with pytest.raises(QueueFull):
            await batcher.encode(["d"])
        # The limit is per queue: background work has room of its own.
        background = submit(batcher, ["e", "f", "g"], Priority.BACKGROUND)
        await settle()
        with pytest.raises(QueueFull):
            await batcher.encode(["h"], Priority.BACKGROUND)
        encoder.release()
        await finish(blocker, *accepted, background)
    finally:
        await batcher.close()
    assert all("d" not in batch and "h" not in batch for batch in encoder.batches)


async def test_queue_full_is_a_classifier_error() -> None:
    assert issubclass(QueueFull, ClassifierError)


async def test_encode_before_start_raises() -> None:
    batcher = MicroBatcher()
    try:
        with pytest.raises(ClassifierError, match="before start"):
            await batcher.encode(["a"])
    finally:
        await batcher.close()


async def test_encode_failure_fails_every_request_of_the_batch(batcher: MicroBatcher) -> None:
    encoder = FakeEncoder(hold=True, fail_on="bad")
    batcher.start(encoder)
    blocker = await hold_thread(batcher, encoder)
    same_batch = [submit(batcher, ["good"]), submit(batcher, ["bad"])]
    await settle()
    encoder.release()
    await finish(blocker)
    for task in same_batch:
        with pytest.raises(ClassifierError, match="embedding failed: cannot embed 'bad'"):
            await asyncio.wait_for(task, TIMEOUT_S)
    assert encoder.batches[1] == ["good", "bad"]
    # The batcher keeps serving after a failed batch.
    (later,) = await finish(submit(batcher, ["later"]))
    np.testing.assert_array_equal(later, rows(["later"]))


async def test_cancelled_caller_is_skipped(batcher: MicroBatcher) -> None:
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    blocker = await hold_thread(batcher, encoder)
    gave_up = submit(batcher, ["gave up"])
    waiting = submit(batcher, ["waiting"])
    await settle()
    gave_up.cancel()
    await settle()
    encoder.release()
    _, result = await finish(blocker, waiting)
    assert gave_up.cancelled()
    assert encoder.batches == [["blocker"], ["waiting"]]
    np.testing.assert_array_equal(result, rows(["waiting"]))


async def test_caller_cancelled_during_its_batch_does_not_break_the_others(
    batcher: MicroBatcher,
) -> None:
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    gave_up = submit(batcher, ["gave up"])
    waiting = submit(batcher, ["waiting"])
    await encoder.wait_entered()
    gave_up.cancel()
    await settle()
    encoder.release()
    (result,) = await finish(waiting)
    assert gave_up.cancelled()
    assert encoder.batches == [["gave up", "waiting"]]
    np.testing.assert_array_equal(result, rows(["waiting"]))


async def test_close_cancels_pending_requests() -> None:
    batcher = MicroBatcher(window_s=0.0)
    encoder = FakeEncoder(hold=True)
    batcher.start(encoder)
    blocker = await hold_thread(batcher, encoder)
    try:
        pending = [submit(batcher, ["p"]), submit(batcher, ["q"], Priority.BACKGROUND)]
        await settle()
        await batcher.close()
        for task in pending:
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, TIMEOUT_S)
    finally:
        encoder.release()
        # close() leaves the in-flight batch's callers unresolved: end this one here.
        blocker.cancel()
    assert encoder.batches == [["blocker"]]


async def test_lone_request_does_not_wait_for_the_window() -> None:
    batcher = MicroBatcher(window_s=30.0)
    encoder = FakeEncoder()
    batcher.start(encoder)
    try:
        async with asyncio.timeout(2.0):
            await batcher.encode(["one"])
            await batcher.encode(["two"])
    finally:
        await batcher.close()
    assert encoder.batches == [["one"], ["two"]]


async def test_concurrent_traffic_gathers_until_the_batch_is_full() -> None:
    batcher = MicroBatcher(window_s=30.0, max_batch=2)
    encoder = FakeEncoder()
    batcher.start(encoder)
    try:
        # A batch of two requests marks the traffic as concurrent ...
        await finish(submit(batcher, ["a"]), submit(batcher, ["b"]))
        # ... so the next request waits for company, and a full batch ends the wait early.
        first = submit(batcher, ["c"])
        await asyncio.sleep(0.05)
        assert encoder.batches == [["a", "b"]]
        second = submit(batcher, ["d"])
        async with asyncio.timeout(2.0):
            await asyncio.gather(first, second)
    finally:
        await batcher.close()
    assert encoder.batches == [["a", "b"], ["c", "d"]]
