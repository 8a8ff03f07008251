"""One request's credentials → an Identity, or the reason it is refused."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from plano_extproc.auth.identity import Credential, Identity
from plano_extproc.auth.keys import KeyTable
from plano_extproc.auth.throttle import FailureThrottle
from plano_extproc.config.model import ApiKeyEntry, AuthSettings, JwtSettings, ModelAllowance
from plano_extproc.contract.headers import JWT_PAYLOAD_HEADER
from plano_extproc.wire.ir import Denial, ErrorKind

_BEARER = "bearer "
# A token's models claim longer than this is cut: a claim is not a place for thousands.
MAX_CLAIMED_MODELS = 256
_UNKNOWN_ADDRESS = "unknown"


MISSING = Denial(
    401,
    ErrorKind.AUTHENTICATION,
    "this gateway needs an API key: send it as 'Authorization: Bearer <key>' or 'x-api-key'",
    "missing_api_key",
)
INVALID = Denial(401, ErrorKind.AUTHENTICATION, "invalid API key or token", "invalid_api_key")
EXPIRED = Denial(401, ErrorKind.AUTHENTICATION, "the API key has expired", "expired_api_key")
NO_NAME_CLAIM = Denial(
    401, ErrorKind.AUTHENTICATION, "the token names no identity", "missing_identity_claim"
)


def model_not_allowed(model: str) -> Denial:
    return Denial(
        403,
        ErrorKind.PERMISSION,
        f"this API key may not use model '{model}'",
        "model_not_allowed",
    )


def throttled(retry_after: int) -> Denial:
    return Denial(
        429,
        ErrorKind.RATE_LIMIT,
        "too many failed authentications from this address; retry later",
        "authentication_throttled",
        retry_after,
    )


class Authenticator:
    """Built once per config. `authenticate` is a header read, a sha256 and a dict lookup."""

    def __init__(self, settings: AuthSettings, aliases: Mapping[str, str]) -> None:
        self._keys = KeyTable(settings.api_keys)
        self._jwt = settings.jwt
        self._aliases = aliases
        self._throttle = FailureThrottle(settings.max_failures_per_minute)

    def key_identities(self) -> Iterator[tuple[ApiKeyEntry, Identity]]:
        return self._keys.identities()

    def authenticate(self, headers: Mapping[str, str], now: float) -> Identity | Denial:
        """`headers` keyed by lowercase names, as the client sent them after Envoy's filters
        (jwt_authn set the payload header only for a token it verified)."""
        address = client_address(headers)
        retry_after = self._throttle.retry_after(address, now)
        if retry_after is not None:
            return throttled(retry_after)
        result = self._identify(headers, now)
        if isinstance(result, Denial):
            self._throttle.failed(address, now)
        return result

    def _identify(self, headers: Mapping[str, str], now: float) -> Identity | Denial:
        if self._jwt is not None:
            payload = headers.get(JWT_PAYLOAD_HEADER)
            if payload is not None:
                return self._from_claims(self._jwt, payload)
        presented = presented_key(headers)
        if presented is None:
            return MISSING
        known = self._keys.lookup(presented)
        if known is None:
            return INVALID
        if known.expires_at is not None and now >= known.expires_at:
            return EXPIRED
        return known.identity

    def _from_claims(self, jwt: JwtSettings, payload: str) -> Identity | Denial:
        claims = _decoded_payload(payload)
        if claims is None:
            return INVALID
        name = _string_claim(claims, jwt.name_claim)
        if name is None:
            return NO_NAME_CLAIM
        team = _string_claim(claims, jwt.team_claim) if jwt.team_claim else None
        models = None
        if jwt.models_claim is not None:
            models = self._allowance(claims.get(jwt.models_claim))
        return Identity(name, Credential.JWT, team, models)

    def _allowance(self, claimed: object) -> ModelAllowance:
        """A token without the claim, or with one of another type, may use no model."""
        if isinstance(claimed, str):
            claimed = claimed.split()
        if not isinstance(claimed, list):
            return ModelAllowance(frozenset())
        names = (n for n in claimed[:MAX_CLAIMED_MODELS] if isinstance(n, str))
        return ModelAllowance(frozenset(self._aliases.get(n, n) for n in names))


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The client's credential: a bearer token (the SDKs'), else `x-api-key` (Anthropic's
    curl examples, older SDKs)."""
    authorization = headers.get("authorization")
    if authorization is not None and authorization[:7].lower() == _BEARER:
        return authorization[7:].strip() or None
    key = headers.get("x-api-key")
    return (key.strip() or None) if key is not None else None


def client_address(headers: Mapping[str, str]) -> str:
    """The peer Envoy saw: the last x-forwarded-for entry, which Envoy appends itself (the
    listener uses the remote address and trusts no earlier hop); a client can only forge the
    entries before it."""
    forwarded = headers.get("x-forwarded-for")
    if not forwarded:
        return _UNKNOWN_ADDRESS
    return forwarded.rpartition(",")[2].strip() or _UNKNOWN_ADDRESS


def _decoded_payload(payload: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _string_claim(claims: dict[str, Any], name: str | None) -> str | None:
    value = claims.get(name) if name else None
    if isinstance(value, str) and value:
        return value[:256]
    return None
