"""Slows guessing: a client address with too many failed authentications in a minute is
refused, whatever it sends, until that minute ends. Bounded: the oldest addresses are
forgotten first."""

from __future__ import annotations

import math
from collections import OrderedDict

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class FailureThrottle:
    """`limit` failures per address per window; 0 turns it off."""

    def __init__(self, limit: int, *, max_addresses: int = MAX_ADDRESSES) -> None:
        self._limit = limit
        self._max_addresses = max_addresses
        # address -> [window start, failures in it]; least recently failed first.
        self._windows: OrderedDict[str, list[float]] = OrderedDict()

    def retry_after(self, address: str, now: float) -> int | None:
        """Seconds until `address` may try again; None when it may now."""
        window = self._windows.get(address)
        if window is None or window[1] < self._limit:
            return None
        left = window[0] + WINDOW_SECONDS - now
        if left <= 0:
            del self._windows[address]
            return None
        return math.ceil(left)

    def failed(self, address: str, now: float) -> None:
        if self._limit == 0:
            return
        window = self._windows.get(address)
        if window is None or now - window[0] >= WINDOW_SECONDS:
            self._windows[address] = [now, 1.0]
        else:
            window[1] += 1
        self._windows.move_to_end(address)
        while len(self._windows) > self._max_addresses:
            self._windows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._windows)
