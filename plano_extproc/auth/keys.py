"""Gateway API keys: made here, stored in the config by their sha256 only, looked up by it."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from plano_extproc.auth.identity import Credential, Identity
from plano_extproc.config.model import ApiKeyEntry

# Recognisable in a leaked-secret scan, and never mistaken for a provider's key.
KEY_PREFIX = "pk-"
_KEY_BYTES = 32
# Longer strings are no key of ours; they are refused without hashing megabytes.
MAX_KEY_CHARS = 512
_DAY_SECONDS = 86_400


def new_key() -> str:
    """A key with 256 bits from the OS's generator."""
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def hash_key(key: str) -> str:
    """The config's `key_sha256` for `key`: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KnownKey:
    entry: ApiKeyEntry
    # The end of the `expires` day (UTC), as a Unix time; None: it never expires.
    expires_at: float | None
    # Built once: every request with this key is from this identity.
    identity: Identity


class KeyTable:
    """Keys by digest. The presented key is hashed first and the stored digest compared in
    constant time: a lookup's timing depends on the digest, never on the key, and a digest
    tells nothing of its key."""

    def __init__(self, entries: Iterable[ApiKeyEntry]) -> None:
        self._by_digest = {entry.key_sha256: _known(entry) for entry in entries}

    def lookup(self, presented: str) -> KnownKey | None:
        if not presented or len(presented) > MAX_KEY_CHARS:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        known = self._by_digest.get(digest)
        if known is None or not hmac.compare_digest(known.entry.key_sha256, digest):
            return None
        return known

    def identities(self) -> Iterator[tuple[ApiKeyEntry, Identity]]:
        for known in self._by_digest.values():
            yield known.entry, known.identity

    def __len__(self) -> int:
        return len(self._by_digest)


def _known(entry: ApiKeyEntry) -> KnownKey:
    identity = Identity(entry.name, Credential.API_KEY, entry.team, entry.models)
    return KnownKey(entry, _end_of_day(entry), identity)


def _end_of_day(entry: ApiKeyEntry) -> float | None:
    if entry.expires is None:
        return None
    return calendar.timegm(entry.expires.timetuple()) + _DAY_SECONDS
