from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from plano_extproc.auth import keys
from plano_extproc.auth.keys import KEY_PREFIX, MAX_KEY_CHARS, KeyTable, hash_key, new_key
from plano_extproc.config.model import ApiKeyEntry


def entry(key: str, name: str = "team-a", expires: dt.date | None = None) -> ApiKeyEntry:
    return ApiKeyEntry(name, hashlib.sha256(key.encode()).digest(), expires=expires)


def test_new_keys_are_prefixed_long_and_distinct() -> None:
    made = {new_key() for _ in range(50)}

    assert len(made) == 50
    assert all(k.startswith(KEY_PREFIX) and len(k) >= len(KEY_PREFIX) + 43 for k in made)


def test_hash_is_the_hex_sha256_of_the_utf8_key() -> None:
    assert hash_key("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert hash_key("clé") == hashlib.sha256("clé".encode()).hexdigest()


def test_lookup_finds_a_listed_key_only() -> None:
    table = KeyTable([entry("pk-one", "one"), entry("pk-two", "two")])

    found = table.lookup("pk-two")
    assert found is not None
    assert found.entry.name == "two"
    assert table.lookup("pk-three") is None
    assert table.lookup("") is None
    assert table.lookup("PK-ONE") is None


def test_an_oversized_key_is_refused_without_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    table = KeyTable([entry("pk-one")])
    hashed: list[bytes] = []
    real = hashlib.sha256
    monkeypatch.setattr(keys.hashlib, "sha256", lambda data: hashed.append(data) or real(data))

    assert table.lookup("x" * (MAX_KEY_CHARS + 1)) is None
    assert hashed == []


def test_the_digest_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", compare)
    table = KeyTable([entry("pk-one")])

    assert table.lookup("pk-one") is not None
    assert compared == [(hashlib.sha256(b"pk-one").digest(),) * 2]


def test_expiry_is_the_end_of_the_expires_day_utc() -> None:
    table = KeyTable([entry("pk-one", expires=dt.date(2027, 6, 30))])

    found = table.lookup("pk-one")
    assert found is not None
    end = dt.datetime(2027, 7, 1, tzinfo=dt.UTC).timestamp()
    assert found.expires_at == end
