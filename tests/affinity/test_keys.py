from __future__ import annotations

import hashlib

import pytest

from plano_extproc.affinity.keys import (
    AFFINITY_KEY_PREFIX,
    MAX_COMPONENT_BYTES,
    affinity_key,
    session_from_headers,
)


def test_key_without_tenant_is_prefix_plus_session() -> None:
    assert affinity_key("abc-123", None) == "plano:affinity:abc-123"


def test_key_with_tenant_puts_tenant_before_session() -> None:
    assert affinity_key("abc", "acme") == "plano:affinity:acme:abc"


def test_empty_tenant_means_no_tenant() -> None:
    assert affinity_key("abc", "") == affinity_key("abc", None)


def test_uuid_session_id_is_kept_readable() -> None:
    session = "a1b2c3d4-5678-90ab-cdef-1234567890ab"
    assert affinity_key(session, None) == AFFINITY_KEY_PREFIX + session


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("b:c", "a"), ("c", "a:b")),
        (("b", "a"), ("a:b", None)),
        (("a b", None), ("a%20b", None)),
    ],
)
def test_distinct_tenant_session_pairs_never_share_a_key(
    first: tuple[str, str | None], second: tuple[str, str | None]
) -> None:
    assert affinity_key(*first) != affinity_key(*second)


def test_over_long_session_id_is_replaced_by_its_sha256() -> None:
    session = "x" * (MAX_COMPONENT_BYTES + 1)
    digest = hashlib.sha256(session.encode()).hexdigest()
    assert affinity_key(session, None) == f"{AFFINITY_KEY_PREFIX}#{digest}"


def test_id_at_the_limit_is_kept() -> None:
    session = "x" * MAX_COMPONENT_BYTES
    assert affinity_key(session, None) == AFFINITY_KEY_PREFIX + session


def test_limit_applies_to_the_encoded_form() -> None:
    session = "é" * (MAX_COMPONENT_BYTES // 4)  # 2 UTF-8 bytes, 6 once percent-encoded
    assert affinity_key(session, None).startswith(f"{AFFINITY_KEY_PREFIX}#")


def test_over_long_tenant_is_hashed_too() -> None:
    key = affinity_key("s", "t" * 1000)
    assert len(key) < 100
    assert key.endswith(":s")


def test_a_sent_digest_cannot_forge_a_hashed_key() -> None:
    long_id = "y" * 1000
    forged = "#" + hashlib.sha256(long_id.encode()).hexdigest()
    assert affinity_key(forged, None) != affinity_key(long_id, None)


def test_lone_surrogate_still_yields_a_key() -> None:
    assert affinity_key("bad\udcff", None).startswith(AFFINITY_KEY_PREFIX)


def test_empty_session_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        affinity_key("", None)


def test_model_affinity_header_gives_the_session() -> None:
    assert session_from_headers({"x-model-affinity": "s1"}, None) == ("s1", None)


def test_session_id_header_is_a_synonym() -> None:
    assert session_from_headers({"x-session-id": "s2"}, None) == ("s2", None)


def test_model_affinity_wins_over_session_id() -> None:
    headers = {"x-model-affinity": "s1", "x-session-id": "s2"}
    assert session_from_headers(headers, None) == ("s1", None)


def test_blank_affinity_header_falls_back_to_session_id() -> None:
    headers = {"x-model-affinity": "  ", "x-session-id": "s2"}
    assert session_from_headers(headers, None) == ("s2", None)


def test_no_session_header_means_no_session() -> None:
    assert session_from_headers({"x-tenant-id": "acme"}, "x-tenant-id") is None


def test_values_are_stripped() -> None:
    assert session_from_headers({"x-session-id": " s2 "}, None) == ("s2", None)


def test_tenant_header_name_is_matched_case_insensitively() -> None:
    headers = {"x-session-id": "s", "x-tenant-id": "acme"}
    assert session_from_headers(headers, "X-Tenant-ID") == ("s", "acme")


def test_missing_tenant_header_gives_no_tenant() -> None:
    assert session_from_headers({"x-session-id": "s"}, "x-tenant-id") == ("s", None)


def test_tenant_ignored_when_not_configured() -> None:
    headers = {"x-session-id": "s", "x-tenant-id": "acme"}
    assert session_from_headers(headers, None) == ("s", None)
