"""A bounded mapping that forgets its least recently used entries.

It is bounded by its number of entries and, optionally, by the total size of its entries as
measured by a caller-supplied `size_of`. Not thread-safe.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(
        self,
        max_entries: int,
        *,
        max_bytes: int | None = None,
        size_of: Callable[[K, V], int] | None = None,
    ) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if max_bytes is not None and size_of is None:
            raise ValueError("max_bytes needs size_of to measure the entries")
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._size_of = size_of
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
        self._nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    @property
    def nbytes(self) -> int:
        """The total size of the entries held (0 without `size_of`)."""
        return self._nbytes

    def get(self, key: K) -> V | None:
        """The value for `key` (now the most recently used), or None."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Store `value` as the most recently used entry, then evict down to the bounds.

        A value larger than `max_bytes` is not stored, and the key's previous value is dropped
        too, so the cache never answers with a value older than the latest put.
        """
        size = self._measure(key, value)
        self.pop(key)
        if self._max_bytes is not None and size > self._max_bytes:
            return
        self._entries[key] = value
        self._sizes[key] = size
        self._nbytes += size
        self._evict()

    def pop(self, key: K) -> None:
        if key in self._entries:
            del self._entries[key]
            self._nbytes -= self._sizes.pop(key)

    def _measure(self, key: K, value: V) -> int:
        if self._size_of is None:
            return 0
        size = self._size_of(key, value)
        if size < 0:
            raise ValueError(f"size_of returned a negative size ({size})")
        return size

    def _evict(self) -> None:
        while len(self._entries) > self._max_entries or self._over_bytes():
            key, _ = self._entries.popitem(last=False)
            self._nbytes -= self._sizes.pop(key)

    def _over_bytes(self) -> bool:
        return self._max_bytes is not None and self._nbytes > self._max_bytes
