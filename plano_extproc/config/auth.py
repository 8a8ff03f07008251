"""Ours: the `auth` section, who may use the gateway. Absent, nothing is checked (Plano's
behaviour); present, every request on the listener must carry a gateway API key or a JWT.

    auth:
      api_keys:
        - name: team-a                  # the identity (unique)
          key_sha256: 9f86d08...        # hex sha256 of the key the client sends (unique)
          team: platform                # optional
          models: [openai/gpt-4o]       # optional: the models or aliases it may use
          expires: 2027-06-30           # optional: the last day it works (UTC)
      jwt:                              # optional: Envoy's jwt_authn checks the token
        issuer: https://idp.example.com
        audiences: [plano]              # optional
        jwks_file: /etc/plano/jwks.json # or jwks_uri: https://idp.example.com/jwks.json
        name_claim: sub                 # default sub
        team_claim: org                 # optional
        models_claim: models            # optional: a list, or a space-separated string
      max_failures_per_minute: 10       # per client address; 0 turns the throttle off

What a key or token allows is `auth/`; how the checks run, docs/auth.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import (
    ApiKeyEntry,
    AuthSettings,
    JwtSettings,
    ModelAllowance,
    ModelProvider,
)
from plano_extproc.config.providers import ModelNames
from plano_extproc.config.reader import Issues, Section, first_claim, open_section
from plano_extproc.config.spec import API_KEY, CLIENT_AUTH, JWT

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CLAIM = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# What a name may hold: it is a metric label, a log field and an access-log value.
IDENTITY_NAME = re.compile(r"[A-Za-z0-9_.@:/-]{1,64}")
IDENTITY_NAME_RULE = "1 to 64 letters, digits or _ . @ : / -"


def read_auth(
    top: Section,
    providers: tuple[ModelProvider, ...],
    aliases: dict[str, str],
    env: Environment,
    *,
    today: dt.date | None = None,
) -> AuthSettings | None:
    """None when the file has no `auth`."""
    section = top.section("auth", CLIENT_AUTH)
    if section is None:
        return None
    models = _ModelNames(providers, aliases)
    keys = _read_api_keys(section, models, today or dt.datetime.now(dt.UTC).date())
    jwt = _read_jwt(section, env)
    if not section.has("api_keys") and not section.has("jwt"):
        section.issues.error(section.location, "needs api_keys, jwt or both")
    _check_passthrough(providers, top.issues)
    limit = section.integer(
        "max_failures_per_minute", AuthSettings().max_failures_per_minute, minimum=0, maximum=10_000
    )
    return AuthSettings(api_keys=keys, jwt=jwt, max_failures_per_minute=limit)


class _ModelNames(ModelNames):
    """Resolves a key's `models` entries."""

    def allowance(self, section: Section, key: str) -> ModelAllowance | None:
        if not section.has(key):
            return None
        names = set()
        for position, reference in enumerate(section.texts(key)):
            name = self.resolve(reference)
            if name is None:
                where = f"{section.where(key)}[{position}]"
                section.issues.error(where, f"'{reference}' is no declared model or alias")
            else:
                names.add(name)
        return ModelAllowance(frozenset(names))


def _read_api_keys(auth: Section, models: _ModelNames, today: dt.date) -> tuple[ApiKeyEntry, ...]:
    entries = []
    names: dict[str, str] = {}
    digests: dict[str, str] = {}
    for location, item in auth.items("api_keys"):
        section = open_section(item, location, API_KEY, auth.issues)
        if section is None:
            continue
        name = _identity_name(section, "name")
        digest = _digest(section)
        team = _identity_name(section, "team")
        if name is not None and (earlier := first_claim(names, name, location)):
            auth.issues.error(section.where("name"), f"'{name}' is already the name of {earlier}")
        if digest is not None and (earlier := first_claim(digests, digest, location)):
            auth.issues.error(section.where("key_sha256"), f"the same key as {earlier}")
        expires = _expiry(section, today)
        allowance = models.allowance(section, "models")
        if name is not None and digest is not None:
            entries.append(ApiKeyEntry(name, bytes.fromhex(digest), team, allowance, expires))
    return tuple(entries)


def _identity_name(section: Section, key: str) -> str | None:
    value = section.text(key)
    if value is not None and not IDENTITY_NAME.fullmatch(value):
        section.issues.error(section.where(key), f"must be {IDENTITY_NAME_RULE}")
        return None
    return value


def _digest(section: Section) -> str | None:
    value = section.text("key_sha256")
    if value is None:
        return None
    value = value.strip().lower()
    if not _SHA256_HEX.fullmatch(value):
        message = (
            "must be the 64 hex digits of the key's sha256 (never the key itself): "
            "`plano-extproc keys` prints one"
        )
        section.issues.error(section.where("key_sha256"), message)
        return None
    return value


def _expiry(section: Section, today: dt.date) -> dt.date | None:
    value = section.data.get("expires")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        section.issues.error(section.where("expires"), "must be a date such as 2027-06-30")
        return None
    if value < today:
        section.issues.warn(section.where("expires"), f"expired on {value.isoformat()}")
    return value


def _read_jwt(auth: Section, env: Environment) -> JwtSettings | None:
    section = auth.section("jwt", JWT)
    if section is None:
        return None
    issuer = section.required_text("issuer")
    audiences = section.texts("audiences")
    jwks_file = section.text("jwks_file")
    jwks_uri = env.http_url(section, "jwks_uri")
    if section.has("jwks_file") == section.has("jwks_uri"):
        section.issues.error(section.location, "needs exactly one of jwks_file or jwks_uri")
    if jwks_file is not None:
        _check_jwks_file(section, jwks_file)
    claims = {key: _claim(section, key) for key in ("name_claim", "team_claim", "models_claim")}
    if issuer is None:
        return None
    return JwtSettings(
        issuer=issuer,
        audiences=audiences,
        jwks_file=jwks_file,
        jwks_uri=jwks_uri,
        name_claim=claims["name_claim"] or "sub",
        team_claim=claims["team_claim"],
        models_claim=claims["models_claim"],
    )


def _claim(section: Section, key: str) -> str | None:
    value = section.text(key)
    if value is not None and not _CLAIM.fullmatch(value):
        section.issues.error(section.where(key), "must be a claim name (letters, digits, _.:-)")
        return None
    return value


def _check_jwks_file(section: Section, path: str) -> None:
    """Envoy reads the file at start and refuses a bad one, so it is read here."""
    where = section.where("jwks_file")
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        section.issues.error(where, f"cannot read a JSON Web Key Set from {path}: {reason}")
        return
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        section.issues.error(where, f"{path} is no JSON Web Key Set (no 'keys' list)")
    elif not document["keys"]:
        # Envoy refuses to start on it ("Jwks doesn't have any valid public key").
        section.issues.error(where, f"{path} holds no key")


def _check_passthrough(providers: tuple[ModelProvider, ...], issues: Issues) -> None:
    """With auth, a client's Authorization holds the gateway key or token: forwarding it to a
    provider would hand the provider the client's gateway credential."""
    for provider in providers:
        if provider.passthrough_auth:
            issues.error(
                "auth",
                f"model '{provider.name}' has passthrough_auth, which cannot be used with auth: "
                "the client's credentials are the gateway's",
            )
