"""The scalar parsers: variables, durations, versions and URLs."""

from __future__ import annotations

import pytest

from plano_extproc.config.reader import index, join
from plano_extproc.config.values import (
    Expansion,
    expand_variables,
    grpc_target_problem,
    http_url_problem,
    parse_duration,
    parse_version,
    redis_url_problem,
)


def test_expand_variables_reports_every_reference_and_each_missing_once() -> None:
    result = expand_variables("${A}-$B-$A-$-${C}", {"A": "1", "B": ""})

    assert result == Expansion("1--1-$-", ("A", "B", "A", "C"), ("B", "C"))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        (" 5m ", 300.0),
        ("1.5h", 5400.0),
        (10, 10.0),
        (0.25, 0.25),
        ("0s", None),
        (0, None),
        (-1, None),
        (True, None),
        ("5 minutes", None),
        ("300", None),
        (None, None),
    ],
)
def test_parse_duration(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v0.4.0", (0, 4, 0)),
        ("0.2.0", (0, 2, 0)),
        ("v0.1", (0, 1, 0)),
        ("0.1-beta", (0, 1, 0)),
        ("v0.10.0", (0, 10, 0)),
        ("latest", None),
        ("v0.4.0.1", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == version


def test_versions_compare_numerically() -> None:
    assert parse_version("v0.3.0") < parse_version("v0.4.0") < parse_version("v0.10.0")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.openai.com", None),
        ("http://localhost:11434/v1", None),
        ("http://[::1]:8080/", None),
        ("http://10.0.0.1", None),
        ("ftp://host", "must start with http:// or https://"),
        ("localhost:8000", "must start with http:// or https://"),
        ("http://", "must name a host, as in http(s)://host[:port][/path]"),
        ("http://host name", "must name a host, as in http(s)://host[:port][/path]"),
        ("http://host:99999", "is not a valid URL (check the port and brackets)"),
        ("http://host:0", "must not use port 0"),
        ("http://[::1", "is not a valid URL (check the port and brackets)"),
        ("http://u:p@host", "must not contain credentials; use access_key or auth instead"),
        ("http://host/#x", "must not contain a query string or fragment"),
    ],
)
def test_http_url_problem(url: str, problem: str | None) -> None:
    assert http_url_problem(url) == problem


def test_http_url_may_carry_a_query_where_allowed() -> None:
    assert http_url_problem("https://p/costs?v=2", allow_query=True) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://localhost:6379/0", None),
        ("rediss://:pw@cache:6380", None),
        ("unix:///run/redis.sock", None),
        ("unix://", "must name a socket path, as in unix:///run/redis.sock"),
        ("redis://", "must name a host, as in redis://host:6379"),
        ("http://cache", "must start with redis://, rediss:// or unix://"),
        ("redis://[::1", "is not a valid URL"),
    ],
)
def test_redis_url_problem(url: str, problem: str | None) -> None:
    assert redis_url_problem(url) == problem


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("triton:8001", None),
        ("localhost", None),
        ("[::1]:8001", None),
        ("grpc://triton:8001", "must be host[:port] without a scheme, as in triton:8001"),
        ("triton:70000", "has a port outside 1-65535"),
    ],
)
def test_grpc_target_problem(target: str, problem: str | None) -> None:
    assert grpc_target_problem(target) == problem


def test_locations_quote_keys_that_are_not_identifiers() -> None:
    assert join("", "routing") == "routing"
    assert join("model_aliases", "fast-model") == "model_aliases.fast-model"
    assert join("model_aliases", "arch.fast.v1") == "model_aliases['arch.fast.v1']"
    assert join("", "a/b") == "['a/b']"
    assert index("routing_preferences", 2) == "routing_preferences[2]"
