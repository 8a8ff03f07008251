"""MemoryConversationStore: copies, expiry, and its bounds in entries and bytes."""

from __future__ import annotations

from typing import Any

import orjson

from plano_extproc.conversations.memory import MemoryConversationStore
from tests.support.clock import FakeClock

TTL = 60
ITEMS = [
    {"role": "user", "content": "hello"},
    {
        "type": "message",
        "id": "msg_1_0",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hi there.", "annotations": []}],
    },
]


def items(text: str) -> list[dict[str, Any]]:
    """One user message; entries of texts of one length have one serialized size."""
    return [{"role": "user", "content": text}]


def size(value: list[dict[str, Any]]) -> int:
    return len(orjson.dumps(value))


def make_store(
    clock: FakeClock, *, max_entries: int = 100, max_bytes: int = 1 << 20
) -> MemoryConversationStore:
    return MemoryConversationStore(max_entries=max_entries, max_bytes=max_bytes, clock=clock)


async def test_get_returns_the_items_put(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", ITEMS, TTL)
    assert await store.get("resp_1") == ITEMS


async def test_unknown_key_is_a_miss(clock: FakeClock) -> None:
    assert await make_store(clock).get("nope") is None


async def test_empty_items_round_trip(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", [], TTL)
    assert await store.get("resp_1") == []


async def test_mutating_a_result_does_not_change_the_store(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", ITEMS, TTL)
    first = await store.get("resp_1")
    assert first is not None
    first.append({"role": "user", "content": "injected"})
    first[0]["content"] = "changed"
    first[1]["content"][0]["text"] = "changed"
    assert await store.get("resp_1") == ITEMS


async def test_mutating_the_items_put_does_not_change_the_store(clock: FakeClock) -> None:
    store = make_store(clock)
    stored = [dict(item) for item in ITEMS]
    await store.put("resp_1", stored, TTL)
    stored[0]["content"] = "changed"
    stored.clear()
    assert await store.get("resp_1") == ITEMS


async def test_each_get_returns_a_new_list(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", ITEMS, TTL)
    first, second = await store.get("resp_1"), await store.get("resp_1")
    assert first == second
    assert first is not second


async def test_entry_expires_after_its_ttl(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", ITEMS, 10)
    clock.advance(9.9)
    assert await store.get("resp_1") == ITEMS
    clock.advance(0.1)
    assert await store.get("resp_1") is None


async def test_each_entry_has_its_own_ttl(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("short", items("a"), 5)
    await store.put("long", items("b"), 50)
    clock.advance(5)
    assert await store.get("short") is None
    assert await store.get("long") == items("b")
    clock.advance(45)
    assert await store.get("long") is None


async def test_reads_do_not_extend_the_ttl(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", ITEMS, 10)
    for _ in range(3):
        clock.advance(3)
        assert await store.get("resp_1") == ITEMS
    clock.advance(1)
    assert await store.get("resp_1") is None


async def test_rewriting_a_key_restarts_its_ttl(clock: FakeClock) -> None:
    store = make_store(clock)
    await store.put("resp_1", items("old"), 10)
    clock.advance(8)
    await store.put("resp_1", items("new"), 10)
    clock.advance(8)
    assert await store.get("resp_1") == items("new")


async def test_an_expired_entry_frees_its_place(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("b", items("b"), 50)
    await store.put("a", items("a"), 5)  # the most recently used, but it expires
    clock.advance(5)
    assert await store.get("a") is None  # dropped on read
    await store.put("c", items("c"), 50)  # fits in its place: "b" is not evicted
    assert await store.get("b") == items("b")
    assert await store.get("c") == items("c")


async def test_oldest_entry_is_evicted_past_max_entries(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("a", items("a"), TTL)
    await store.put("b", items("b"), TTL)
    await store.put("c", items("c"), TTL)
    assert await store.get("a") is None
    assert await store.get("b") == items("b")
    assert await store.get("c") == items("c")


async def test_a_read_makes_an_entry_the_most_recently_used(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("a", items("a"), TTL)
    await store.put("b", items("b"), TTL)
    assert await store.get("a") == items("a")
    await store.put("c", items("c"), TTL)
    assert await store.get("b") is None
    assert await store.get("a") == items("a")
    assert await store.get("c") == items("c")


async def test_rewriting_a_key_makes_it_the_most_recently_used(clock: FakeClock) -> None:
    store = make_store(clock, max_entries=2)
    await store.put("a", items("a"), TTL)
    await store.put("b", items("b"), TTL)
    await store.put("a", items("A"), TTL)
    await store.put("c", items("c"), TTL)
    assert await store.get("b") is None
    assert await store.get("a") == items("A")


async def test_oldest_entries_are_evicted_past_max_bytes(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=2 * entry)
    await store.put("a", items("aaaa"), TTL)
    await store.put("b", items("bbbb"), TTL)
    assert await store.get("a") == items("aaaa")  # exactly at the bound: both kept
    await store.put("c", items("cccc"), TTL)
    assert await store.get("b") is None  # "a" was read since, so "b" is the oldest
    assert await store.get("a") == items("aaaa")
    assert await store.get("c") == items("cccc")


async def test_a_large_entry_evicts_as_many_as_needed(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=3 * entry)
    for key in ("a", "b", "c"):
        await store.put(key, items(key * 4), TTL)
    big = items("x" * (2 * entry))  # about 3 entries' worth, within the bound
    assert size(big) <= 3 * entry
    await store.put("big", big, TTL)
    assert await store.get("big") == big
    assert [await store.get(key) for key in ("a", "b", "c")] == [None, None, None]


async def test_an_entry_larger_than_max_bytes_is_not_stored(clock: FakeClock) -> None:
    store = make_store(clock, max_bytes=64)
    await store.put("small", items("s"), TTL)
    big = items("x" * 100)
    await store.put("big", big, TTL)
    assert await store.get("big") is None
    assert await store.get("small") == items("s")  # nothing was evicted for it


async def test_an_oversized_rewrite_removes_the_old_value(clock: FakeClock) -> None:
    store = make_store(clock, max_bytes=64)
    await store.put("resp_1", items("old"), TTL)
    await store.put("resp_1", items("x" * 100), TTL)
    assert await store.get("resp_1") is None


async def test_an_oversized_rewrite_frees_the_old_bytes(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=2 * entry)
    await store.put("a", items("aaaa"), TTL)
    await store.put("b", items("bbbb"), TTL)
    await store.put("a", items("x" * (3 * entry)), TTL)  # too large: "a" is gone
    await store.put("c", items("cccc"), TTL)  # fits in the bytes "a" freed
    assert await store.get("b") == items("bbbb")
    assert await store.get("c") == items("cccc")


async def test_rewriting_a_key_replaces_its_bytes(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=2 * entry)
    await store.put("a", items("aaaa"), TTL)
    for _ in range(5):  # counted once, not five times
        await store.put("a", items("AAAA"), TTL)
    await store.put("b", items("bbbb"), TTL)
    assert await store.get("a") == items("AAAA")
    assert await store.get("b") == items("bbbb")


async def test_shrinking_a_rewrite_makes_room(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=2 * entry)
    big = items("x" * entry)  # about two entries' worth
    assert entry < size(big) <= 2 * entry
    await store.put("a", big, TTL)
    await store.put("a", items("aaaa"), TTL)
    await store.put("b", items("bbbb"), TTL)
    assert await store.get("a") == items("aaaa")
    assert await store.get("b") == items("bbbb")


async def test_expired_entries_free_their_bytes_when_read(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=2 * entry)
    await store.put("b", items("bbbb"), 50)
    await store.put("a", items("aaaa"), 5)  # the most recently used, but it expires
    clock.advance(5)
    assert await store.get("a") is None
    await store.put("c", items("cccc"), 50)
    assert await store.get("b") == items("bbbb")
    assert await store.get("c") == items("cccc")


async def test_close_clears_the_store(clock: FakeClock) -> None:
    entry = size(items("aaaa"))
    store = make_store(clock, max_bytes=2 * entry)
    await store.put("a", items("aaaa"), TTL)
    await store.put("b", items("bbbb"), TTL)
    await store.close()
    assert await store.get("a") is None
    assert await store.get("b") is None
    # Its byte count starts again from zero: two new entries fit.
    await store.put("c", items("cccc"), TTL)
    await store.put("d", items("dddd"), TTL)
    assert await store.get("c") == items("cccc")
    assert await store.get("d") == items("dddd")


async def test_default_clock_and_bounds_work() -> None:
    store = MemoryConversationStore()
    await store.put("resp_1", ITEMS, TTL)
    assert await store.get("resp_1") == ITEMS
    await store.close()
