"""Corrections reach the store once each at rest, summed per bucket set under load."""

from __future__ import annotations

import asyncio

from plano_extproc.ratelimit.corrections import Corrections
from plano_extproc.ratelimit.gcra import Quota
from plano_extproc.ratelimit.store import Bucket

HOT: tuple[Bucket, ...] = (("hot", Quota(100, 60)),)
COLD: tuple[Bucket, ...] = (("cold", Quota(100, 60)),)


class SlowStore:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Bucket, ...], int]] = []
        self.gate = asyncio.Event()

    async def adjust(self, buckets: tuple[Bucket, ...], delta: int) -> None:
        self.calls.append((buckets, delta))
        await self.gate.wait()


async def test_a_correction_at_rest_goes_at_once() -> None:
    store = SlowStore()
    store.gate.set()
    corrections = Corrections(store.adjust)

    await corrections.add(HOT, 5)
    assert corrections.flushing is not None
    await corrections.flushing

    assert store.calls == [(HOT, 5)]
    assert corrections.flushing is None


async def test_corrections_waiting_on_a_flush_are_summed_per_bucket_set() -> None:
    store = SlowStore()
    corrections = Corrections(store.adjust)
    await corrections.add(HOT, 5)
    await asyncio.sleep(0)  # the first flush is now waiting on the store

    for delta in (3, 4, -2):
        await corrections.add(HOT, delta)
    await corrections.add(COLD, 7)
    await corrections.add(COLD, -7)  # sums to nothing: never sent
    store.gate.set()
    assert corrections.flushing is not None
    await corrections.flushing

    assert store.calls == [(HOT, 5), (HOT, 5)]


async def test_past_its_bound_a_correction_waits_for_the_store_itself() -> None:
    calls: list[tuple[tuple[Bucket, ...], int]] = []
    hot_store = asyncio.Event()

    async def adjust(buckets: tuple[Bucket, ...], delta: int) -> None:
        calls.append((buckets, delta))
        if buckets == HOT:
            await hot_store.wait()

    corrections = Corrections(adjust, max_pending=1)
    await corrections.add(HOT, 1)
    await asyncio.sleep(0)
    await corrections.add(HOT, 1)  # waits in the one pending slot
    await corrections.add(COLD, 2)  # no slot: sent directly

    assert calls == [(HOT, 1), (COLD, 2)]
    assert len(corrections) == 1
    hot_store.set()
    assert corrections.flushing is not None
    await corrections.flushing
    assert calls[-1] == (HOT, 1)
