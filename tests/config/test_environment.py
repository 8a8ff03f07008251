"""Keys and URLs read through `Environment`: expansion and the require_keys policy."""

from __future__ import annotations

from plano_extproc.config.environment import Environment
from plano_extproc.config.reader import Issues, Section

UNSET = "environment variable MISSING is unset or empty"


def section(**data: object) -> Section:
    return Section(dict(data), "entry", Issues())


def test_secret_expands_and_names_its_variable() -> None:
    entry = section(access_key="${KEY}")
    assert Environment({"KEY": "sk"}).secret(entry, "access_key") == ("sk", "KEY")
    assert not entry.issues.errors


def test_unset_secret_is_an_error_only_when_keys_are_required() -> None:
    required, optional, unneeded = (section(access_key="$MISSING") for _ in range(3))
    Environment({}).secret(required, "access_key")
    Environment({}, require_keys=False).secret(optional, "access_key")
    Environment({}).secret(unneeded, "access_key", needed=False)
    assert [str(issue) for issue in required.issues.errors] == [f"entry.access_key: {UNSET}"]
    for entry in (optional, unneeded):
        assert not entry.issues.errors
        assert [issue.message for issue in entry.issues.warnings] == [
            f"{UNSET}; continuing without this key"
        ]


def test_url_with_unset_variable_is_an_error_even_without_required_keys() -> None:
    entry = section(url="http://$MISSING:8080")
    assert Environment({}, require_keys=False).http_url(entry, "url") is None
    assert [issue.message for issue in entry.issues.errors] == [UNSET]


def test_redis_url_is_required_for_redis() -> None:
    entry = section(type="redis")
    assert Environment({}).redis_url(entry, required=True) is None
    assert [(issue.location, issue.message) for issue in entry.issues.errors] == [
        ("entry.url", "required when type is redis")
    ]
