"""Ours: the `auth` section."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from plano_extproc.config.model import ModelAllowance
from tests.config.support import HEAD, Case, invalid_cases, issues_of, load

DIGEST = hashlib.sha256(b"pk-a").hexdigest()
OTHER = hashlib.sha256(b"pk-b").hexdigest()
ONE_KEY = {"kty": "oct", "kid": "k1", "alg": "HS256", "k": "c2VjcmV0"}
WITH_ALIAS = HEAD + "model_aliases:\n  fast: {target: openai/gpt-4o-mini}\n"


def test_keys_load_with_their_digest_team_models_and_expiry() -> None:
    config = load(
        WITH_ALIAS
        + f"""
auth:
  api_keys:
    - name: team-a
      key_sha256: {DIGEST.upper()}
      team: platform
      models: [openai/gpt-4o, fast]
      expires: 2099-06-30
    - {{name: ci, key_sha256: "{OTHER}", expires: "2099-01-31"}}
  max_failures_per_minute: 3
"""
    )

    assert config.auth is not None
    first, second = config.auth.api_keys
    assert first.key_sha256 == hashlib.sha256(b"pk-a").digest()
    assert (first.name, first.team, first.expires) == ("team-a", "platform", dt.date(2099, 6, 30))
    assert first.models == ModelAllowance(frozenset({"openai/gpt-4o", "openai/gpt-4o-mini"}))
    assert (second.models, second.expires) == (None, dt.date(2099, 1, 31))
    assert config.auth.max_failures_per_minute == 3
    assert config.auth.jwt is None


def test_no_auth_section_checks_nothing() -> None:
    assert load(HEAD).auth is None


def test_an_expired_key_loads_with_a_warning() -> None:
    config = load(
        HEAD + f"auth: {{api_keys: [{{name: a, key_sha256: {DIGEST}, expires: 2001-01-01}}]}}\n"
    )

    assert [str(w) for w in config.warnings] == ["auth.api_keys[0].expires: expired on 2001-01-01"]


def test_jwt_with_a_key_set_file(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [ONE_KEY]}))

    config = load(
        HEAD + f"auth:\n  jwt: {{issuer: https://idp, audiences: [plano], jwks_file: {jwks},"
        " team_claim: org}\n"
    )

    assert config.auth is not None
    assert config.auth.jwt is not None
    jwt = config.auth.jwt
    assert (jwt.issuer, jwt.audiences, jwt.jwks_file) == ("https://idp", ("plano",), str(jwks))
    assert (jwt.name_claim, jwt.team_claim, jwt.models_claim) == ("sub", "org", None)


def test_a_key_set_file_without_keys_is_refused(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": []}))

    issues = issues_of(HEAD + f"auth: {{jwt: {{issuer: i, jwks_file: {jwks}}}}}\n")

    assert issues == [("auth.jwt.jwks_file", f"{jwks} holds no key")]


def test_jwt_with_a_key_set_url() -> None:
    config = load(HEAD + "auth:\n  jwt: {issuer: i, jwks_uri: 'https://idp.example.com/jwks'}\n")

    assert config.auth is not None
    assert config.auth.jwt is not None
    assert config.auth.jwt.jwks_uri == "https://idp.example.com/jwks"


def _key(**fields: str) -> str:
    entry = {"name": "a", "key_sha256": DIGEST, **fields}
    return HEAD + "auth:\n  api_keys:\n    - " + json.dumps(entry) + "\n"


CASES: list[Case] = [
    ("an empty auth", HEAD + "auth: {}\n", [("auth", "needs api_keys, jwt or both")]),
    (
        "a key in plain text",
        _key(key_sha256="pk-live-secret"),
        [
            (
                "auth.api_keys[0].key_sha256",
                "must be the 64 hex digits of the key's sha256 (never the key itself): "
                "`plano-extproc keys` prints one",
            )
        ],
    ),
    (
        "a name with spaces",
        _key(name="team a"),
        [("auth.api_keys[0].name", "must be 1 to 64 letters, digits or _ . @ : / -")],
    ),
    (
        "an unknown model",
        _key(models=["openai/gpt-5"]),  # type: ignore[arg-type]
        [("auth.api_keys[0].models[0]", "'openai/gpt-5' is no declared model or alias")],
    ),
    (
        "a bad date",
        _key(expires="June"),
        [("auth.api_keys[0].expires", "must be a date such as 2027-06-30")],
    ),
    (
        "two keys with one name",
        HEAD + f"auth:\n  api_keys:\n    - {{name: a, key_sha256: {DIGEST}}}\n"
        f"    - {{name: a, key_sha256: {OTHER}}}\n",
        [("auth.api_keys[1].name", "'a' is already the name of auth.api_keys[0]")],
    ),
    (
        "a jwt without its key set",
        HEAD + "auth: {jwt: {issuer: i}}\n",
        [("auth.jwt", "needs exactly one of jwks_file or jwks_uri")],
    ),
    (
        "a jwt key set file that is missing",
        HEAD + "auth: {jwt: {issuer: i, jwks_file: /nonexistent/jwks.json}}\n",
        [
            (
                "auth.jwt.jwks_file",
                "cannot read a JSON Web Key Set from /nonexistent/jwks.json: "
                "No such file or directory",
            )
        ],
    ),
    (
        "passthrough_auth with auth",
        HEAD
        + "  - {model: ollama/llama3, base_url: 'http://127.0.0.1:11434', passthrough_auth: true}\n"
        + f"auth: {{api_keys: [{{name: a, key_sha256: {DIGEST}}}]}}\n",
        [
            (
                "auth",
                "model 'ollama/llama3' has passthrough_auth, which cannot be used with auth: "
                "the client's credentials are the gateway's",
            )
        ],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
