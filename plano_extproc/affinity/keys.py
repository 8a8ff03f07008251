"""Affinity keys: which session (and tenant) a request belongs to, and its store key.

Key layout: ``plano:affinity:`` + (``<tenant>:`` when a tenant is known) + ``<session>``.

Both components are percent-encoded (``urllib.parse.quote`` with no safe characters), so neither
contains ``:`` and the layout stays unambiguous: tenant ``a`` + session ``b:c`` cannot collide
with tenant ``a:b`` + session ``c``, nor with the untenanted session ``a:b:c``. Common ids
(UUIDs, ``[A-Za-z0-9_.~-]``) are left unchanged and stay readable in ``redis-cli``.

A component whose encoded form exceeds ``MAX_COMPONENT_BYTES`` is replaced by ``#`` + the
SHA-256 hex digest of the raw value, so a client cannot create arbitrarily large keys. ``#`` never
survives encoding, so a hashed component cannot be forged by sending its digest as an id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote

AFFINITY_KEY_PREFIX = "plano:affinity:"
AFFINITY_HEADER = "x-model-affinity"
SESSION_ID_HEADER = "x-session-id"
MAX_COMPONENT_BYTES = 256
_HASHED_MARKER = "#"


def affinity_key(session_id: str, tenant: str | None) -> str:
    """The store key for `session_id`, scoped to `tenant` when one is given."""
    if not session_id:
        raise ValueError("session id must not be empty")
    tenant_part = f"{_key_component(tenant)}:" if tenant else ""
    return f"{AFFINITY_KEY_PREFIX}{tenant_part}{_key_component(session_id)}"


def session_from_headers(
    headers: Mapping[str, str], tenant_header: str | None
) -> tuple[str, str | None] | None:
    """``(session_id, tenant)`` from request headers, or None when no session id was sent.

    `headers` must be keyed by lowercase names (as HTTP/2 and Envoy deliver them); `tenant_header`
    may be in any case. ``X-Model-Affinity`` wins over its synonym ``X-Session-Id``. Values are
    stripped; an empty value counts as absent. The tenant is None when no tenant header is
    configured or the request does not carry it.
    """
    session_id = _header(headers, AFFINITY_HEADER) or _header(headers, SESSION_ID_HEADER)
    if session_id is None:
        return None
    tenant = _header(headers, tenant_header.lower()) if tenant_header else None
    return session_id, tenant


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name, "").strip()
    return value or None


def _key_component(raw: str) -> str:
    # surrogatepass: a header decoded with surrogateescape must still yield a key, not raise.
    raw_bytes = raw.encode("utf-8", "surrogatepass")
    encoded = quote(raw_bytes, safe="")
    if len(encoded) <= MAX_COMPONENT_BYTES:
        return encoded
    return _HASHED_MARKER + hashlib.sha256(raw_bytes).hexdigest()
