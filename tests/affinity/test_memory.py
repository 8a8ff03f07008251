from __future__ import annotations

import pytest

from plano_extproc.affinity.base import Pin
from plano_extproc.affinity.memory import MemoryAffinityStore
from tests.support.clock import FakeClock

PIN_A = Pin("openai/gpt-4o", "code_generation")
PIN_B = Pin("anthropic/claude-sonnet-4-20250514", "complex_reasoning")


def make_store(clock: FakeClock, ttl: float = 60, max_entries: int = 3) -> MemoryAffinityStore:
    return MemoryAffinityStore(ttl, max_entries, clock=clock)


async def test_get_returns_the_pin_put(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("k", PIN_A)
    assert await store.get("k") == PIN_A


async def test_unknown_key_is_a_miss(clock: FakeClock) -> None:
    assert await make_store(clock).get("nope") is None


async def test_first_write_wins(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("k", PIN_A)
    await store.put("k", PIN_B)
    assert await store.get("k") == PIN_A


async def test_pin_expires_after_ttl(clock: FakeClock) -> None:
    store = make_store(clock, ttl=10)
    await store.put("k", PIN_A)
    clock.advance(9)
    assert await store.get("k") == PIN_A
    clock.advance(1)
    assert await store.get("k") is None
    assert len(store) == 0


async def test_get_does_not_extend_ttl(clock: FakeClock) -> None:
    store = make_store(clock, ttl=10)
    await store.put("k", PIN_A)
    for _ in range(4):
        clock.advance(2)
        assert await store.get("k") == PIN_A
    clock.advance(2)
    assert await store.get("k") is None


async def test_repeated_put_does_not_extend_ttl(clock: FakeClock) -> None:
    store = make_store(clock, ttl=10)
    await store.put("k", PIN_A)
    clock.advance(6)
    await store.put("k", PIN_B)
    clock.advance(4)
    assert await store.get("k") is None


async def test_put_after_expiry_pins_afresh(clock: FakeClock) -> None:
    store = make_store(clock, ttl=10)
    await store.put("k", PIN_A)
    clock.advance(10)
    await store.put("k", PIN_B)
    assert await store.get("k") == PIN_B
    clock.advance(9)
    assert await store.get("k") == PIN_B


async def test_capacity_is_bounded(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=3)
    for i in range(10):
        await store.put(f"k{i}", PIN_A)
    assert len(store) == 3


async def test_least_recently_put_is_evicted_first(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("a", PIN_A)
    await store.put("b", PIN_A)
    await store.put("c", PIN_A)
    assert [await store.get(k) for k in ("a", "b", "c")] == [None, PIN_A, PIN_A]


async def test_get_makes_an_entry_most_recently_used(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("a", PIN_A)
    await store.put("b", PIN_A)
    await store.get("a")
    await store.put("c", PIN_A)
    assert await store.get("a") == PIN_A
    assert await store.get("b") is None


async def test_put_on_a_live_key_makes_it_most_recently_used(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("a", PIN_A)
    await store.put("b", PIN_A)
    await store.put("a", PIN_B)
    await store.put("c", PIN_A)
    assert await store.get("a") == PIN_A
    assert await store.get("b") is None


async def test_close_drops_everything(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("k", PIN_A)
    await store.close()
    assert len(store) == 0


@pytest.mark.parametrize(("ttl", "max_entries"), [(0, 10), (-1, 10), (10, 0)])
def test_rejects_non_positive_limits(ttl: float, max_entries: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryAffinityStore(ttl, max_entries)
