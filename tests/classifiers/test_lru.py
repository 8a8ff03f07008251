from __future__ import annotations

import pytest

from plano_extproc.classifiers.lru import LruCache


def _length(key: str, value: str) -> int:
    return len(value)


def _bytes_cache(max_bytes: int, max_entries: int = 100) -> LruCache[str, str]:
    return LruCache(max_entries, max_bytes=max_bytes, size_of=_length)


def _keys(cache: LruCache[str, str], candidates: str = "abcdefgh") -> list[str]:
    return [key for key in candidates if key in cache]


def test_get_put_pop() -> None:
    cache: LruCache[str, int] = LruCache(4)
    cache.put("a", 1)

    assert (cache.get("a"), cache.get("b"), len(cache), "a" in cache) == (1, None, 1, True)
    cache.pop("a")
    cache.pop("never there")
    assert (len(cache), "a" in cache) == (0, False)


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)

    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)


def test_replacing_a_key_refreshes_it_without_growing() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)

    assert (cache.get("a"), "b" in cache, len(cache)) == (10, False, 2)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"max_entries": 0}, "max_entries must be positive"),
        ({"max_entries": 1, "max_bytes": 0, "size_of": _length}, "max_bytes must be positive"),
        ({"max_entries": 1, "max_bytes": 10}, "max_bytes needs size_of"),
    ],
)
def test_invalid_bounds(arguments: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        LruCache(**arguments)  # type: ignore[arg-type]


def test_without_size_of_nbytes_stays_zero() -> None:
    cache: LruCache[str, str] = LruCache(2)
    cache.put("a", "x" * 100)

    assert cache.nbytes == 0


def test_size_of_without_max_bytes_only_measures() -> None:
    cache: LruCache[str, str] = LruCache(2, size_of=_length)
    cache.put("a", "x" * 100)
    cache.put("b", "x" * 1000)

    assert (len(cache), cache.nbytes) == (2, 1100)


def test_nbytes_follows_puts_replacements_and_pops() -> None:
    cache = _bytes_cache(100)
    cache.put("a", "x" * 10)
    cache.put("b", "x" * 20)
    assert cache.nbytes == 30

    cache.put("a", "x" * 5)
    assert (cache.nbytes, cache.get("a")) == (25, "x" * 5)

    cache.pop("b")
    cache.pop("b")
    assert cache.nbytes == 5


def test_size_of_gets_the_key_and_the_value() -> None:
    cache: LruCache[str, str] = LruCache(4, max_bytes=100, size_of=lambda k, v: len(k) + len(v))
    cache.put("key", "value")

    assert cache.nbytes == 8


def test_bytes_evict_least_recently_used_first() -> None:
    cache = _bytes_cache(30)
    for key in "abc":
        cache.put(key, "x" * 10)
    cache.get("a")
    cache.put("d", "x" * 10)

    assert (_keys(cache), cache.nbytes) == (["a", "c", "d"], 30)


def test_eviction_continues_until_the_bytes_fit() -> None:
    cache = _bytes_cache(30)
    for key in "abc":
        cache.put(key, "x" * 10)
    cache.put("d", "x" * 25)

    assert (_keys(cache), cache.nbytes) == (["d"], 25)


def test_both_bounds_apply() -> None:
    cache = _bytes_cache(max_bytes=1000, max_entries=2)
    for key in "abc":
        cache.put(key, "x")

    assert (_keys(cache), cache.nbytes) == (["b", "c"], 2)


def test_an_entry_at_max_bytes_is_kept() -> None:
    cache = _bytes_cache(30)
    cache.put("a", "x" * 10)
    cache.put("b", "x" * 30)

    assert (_keys(cache), cache.nbytes) == (["b"], 30)


def test_an_oversize_entry_is_not_stored_and_evicts_nothing() -> None:
    cache = _bytes_cache(30)
    cache.put("a", "x" * 10)
    cache.put("b", "x" * 31)

    assert (_keys(cache), cache.nbytes, cache.get("b")) == (["a"], 10, None)


def test_an_oversize_replacement_drops_the_old_value() -> None:
    cache = _bytes_cache(30)
    cache.put("a", "x" * 10)
    cache.put("b", "x" * 10)
    cache.put("a", "x" * 31)

    assert (_keys(cache), cache.nbytes, cache.get("a")) == (["b"], 10, None)


def test_a_growing_replacement_evicts_others_not_itself() -> None:
    cache = _bytes_cache(30)
    cache.put("a", "x" * 10)
    cache.put("b", "x" * 10)
    cache.put("c", "x" * 10)
    cache.put("b", "x" * 20)
    assert (_keys(cache), cache.nbytes) == (["b", "c"], 30)

    # The replacement is now the most recently used: "c" goes before it.
    cache.put("d", "x" * 10)
    assert (_keys(cache), cache.nbytes, cache.get("b")) == (["b", "d"], 30, "x" * 20)


def test_a_negative_size_is_refused_and_changes_nothing() -> None:
    cache: LruCache[str, str] = LruCache(4, max_bytes=10, size_of=lambda k, v: -1)

    with pytest.raises(ValueError, match="negative size"):
        cache.put("a", "x")
    assert (len(cache), cache.nbytes) == (0, 0)
